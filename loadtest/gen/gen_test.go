package gen

import (
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

func TestEventsAreValidAndSized(t *testing.T) {
	g := New(Options{Apps: 3, Features: 4, Models: 2, Versions: 2, BadShare: 0.1, Seed: 1})
	ts := time.Now().UTC()
	apps := map[string]bool{}
	bad := 0
	for i := 0; i < 2000; i++ {
		ev := g.Next(ts)
		data, err := event.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (event.Decoder{}).Decode(data); err != nil {
			t.Fatalf("Decode(generated event %d) = %v, want nil", i, err)
		}
		if ev.FinishReason == "length" || len(ev.Output) < 200 {
			bad++
		} else if len(data) < 1000 || len(data) > 2600 {
			t.Errorf("event %d is %d bytes, want about 1-2 KB", i, len(data))
		}
		apps[ev.App] = true
	}
	if len(apps) != 3 {
		t.Errorf("apps seen = %d, want 3", len(apps))
	}
	if bad < 100 || bad > 320 {
		t.Errorf("bad outputs = %d of 2000, want about 10%%", bad)
	}
}
