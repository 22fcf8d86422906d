package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil/pkg/testkit"
)

// ProcessUsage is what the processes of one name used during a run: separately started services
// (scorer, drift, writer, nats-server...) are measured each on its own.
type ProcessUsage struct {
	Name       string
	Instances  int     // processes of that name seen during the run
	CPUSeconds float64 // user+system CPU they spent during the run
	PeakRSS    int64   // bytes: the largest sum of their peak resident sizes seen
}

// processWatch follows every process whose name (/proc/PID/comm, at most 15 characters) is one
// of names, including replicas and processes restarted during the run.
type processWatch struct {
	names    []string
	primed   bool            // the first sample is taken: processes seen later started during the run
	startCPU map[int]float64 // CPU seconds of each process when first seen
	lastCPU  map[int]float64
	nameOf   map[int]string
	peak     map[string]int64
}

func newProcessWatch(names []string) *processWatch {
	w := &processWatch{names: names, startCPU: map[int]float64{}, lastCPU: map[int]float64{}, nameOf: map[int]string{}, peak: map[string]int64{}}
	w.sample() // processes running before the run count from here
	w.primed = true
	return w
}

// sample reads the CPU and peak memory of every matching process.
func (w *processWatch) sample() {
	if len(w.names) == 0 {
		return
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	rss := map[string]int64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil {
			continue
		}
		name := strings.TrimSpace(string(comm))
		if !w.wants(name) {
			continue
		}
		cpu, err := testkit.ProcessCPU(pid)
		if err != nil {
			continue
		}
		if _, seen := w.startCPU[pid]; !seen {
			w.startCPU[pid] = cpu
			if w.primed {
				w.startCPU[pid] = 0 // started during the run: all of its CPU counts
			}
		}
		w.lastCPU[pid], w.nameOf[pid] = cpu, name
		if hwm, err := procPeakRSS(pid); err == nil {
			rss[name] += hwm
		}
	}
	for name, b := range rss {
		w.peak[name] = max(w.peak[name], b)
	}
}

func (w *processWatch) wants(name string) bool { return slices.Contains(w.names, name) }

// usage sums what each name's processes used since the watch began, in the order of names.
func (w *processWatch) usage() []ProcessUsage {
	out := make([]ProcessUsage, len(w.names))
	for i, n := range w.names {
		out[i] = ProcessUsage{Name: n, PeakRSS: w.peak[n]}
		for pid, name := range w.nameOf {
			if name == n {
				out[i].Instances++
				out[i].CPUSeconds += w.lastCPU[pid] - w.startCPU[pid]
			}
		}
	}
	return out
}
