package main

import (
	"os"
	"testing"
	"time"
)

func TestDuplicatesWindow(t *testing.T) {
	tests := []struct {
		name    string
		environ string // VIGIL_STREAM_DUPLICATES in the bench's own environment, which vigil dev inherits
		env     []string
		want    time.Duration
	}{
		{"default", "", nil, 30 * time.Second},
		{"from -env", "", []string{"VIGIL_WRITER_BATCH_SIZE=5000", "VIGIL_STREAM_DUPLICATES=2m"}, 2 * time.Minute},
		{"from the environment", "45s", nil, 45 * time.Second},
		{"-env wins over the environment", "45s", []string{"VIGIL_STREAM_DUPLICATES=10s"}, 10 * time.Second},
		{"an unreadable -env value leaves the rest", "", []string{"VIGIL_STREAM_DUPLICATES=soon"}, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("VIGIL_STREAM_DUPLICATES", tt.environ)
			if tt.environ == "" {
				os.Unsetenv("VIGIL_STREAM_DUPLICATES") // restored by Setenv's cleanup
			}
			if got := duplicatesWindow(tt.env); got != tt.want {
				t.Errorf("duplicatesWindow(%q) = %v, want %v", tt.env, got, tt.want)
			}
		})
	}
}
