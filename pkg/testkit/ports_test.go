package testkit

import (
	"errors"
	"testing"
)

func TestOnFreshPorts(t *testing.T) {
	taken, broken := errors.New("address already in use"), errors.New("bad config")
	for _, tc := range []struct {
		name      string
		failures  []error // what the first starts return; later ones succeed
		wantCalls int
		wantErr   error
	}{
		{"first start works", nil, 1, nil},
		{"a taken port, then free ones", []error{taken}, 2, nil},
		{"taken every time", []error{taken, taken, taken, taken}, portAttempts, taken},
		{"an error not worth retrying", []error{broken}, 1, broken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			got, err := onFreshPorts(func() (int, error) {
				calls++
				if calls <= len(tc.failures) {
					return 0, tc.failures[calls-1]
				}
				return calls, nil
			}, func(err error) bool { return err == taken })
			if calls != tc.wantCalls || !errors.Is(err, tc.wantErr) {
				t.Fatalf("%d starts, error %v; want %d starts, error %v", calls, err, tc.wantCalls, tc.wantErr)
			}
			if err == nil && got != calls {
				t.Errorf("result %d, want the successful start's %d", got, calls)
			}
		})
	}
}
