package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestProcessWatchFindsReplicasStartedDuringTheRun(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("this test runs copies of sleep: %v", err)
	}
	// A copy under a name of its own, so that no other process matches.
	const name = "vigil-procwatch"
	bin := filepath.Join(t.TempDir(), name)
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	start := func() {
		cmd := exec.Command(bin, "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	start() // running before the run
	w := newProcessWatch([]string{name, "no-such-process"})
	start() // a replica started during it
	w.sample()
	got := w.usage()
	if len(got) != 2 || got[0].Name != name || got[1].Name != "no-such-process" {
		t.Fatalf("usage = %+v, want %s then no-such-process", got, name)
	}
	if got[0].Instances != 2 || got[0].PeakRSS <= 0 || got[0].CPUSeconds < 0 {
		t.Errorf("%s: %+v, want 2 instances with a peak RSS", name, got[0])
	}
	if got[1].Instances != 0 || got[1].PeakRSS != 0 {
		t.Errorf("no-such-process: %+v, want nothing", got[1])
	}
}
