//go:build !linux

package scoring

import "testing"

// measureCPU runs f b.N times; CPU time per thread is measured on Linux only.
func measureCPU(b *testing.B, f func()) {
	for b.Loop() {
		f()
	}
}
