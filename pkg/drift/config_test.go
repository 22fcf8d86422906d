package drift

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v, want nil", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // substrings, one per expected error
	}{
		{"zero window", func(c *Config) { c.Window = 0 }, []string{"Window = 0s"}},
		{"negative grace", func(c *Config) { c.Grace = -time.Second }, []string{"Grace = -1s"}},
		{"zero grace is fine", func(c *Config) { c.Grace = 0 }, nil},
		{"empty baseline", func(c *Config) { c.BaselineSize = 0 }, []string{"BaselineSize = 0"}},
		{"negative warm-up", func(c *Config) { c.WarmUp = -1 }, []string{"WarmUp = -1"}},
		{"no samples", func(c *Config) { c.MinSamples = 0 }, []string{"MinSamples = 0"}},
		{"alpha zero", func(c *Config) { c.Alpha = 0 }, []string{"Alpha = 0"}},
		{"alpha one", func(c *Config) { c.Alpha = 1 }, []string{"Alpha = 1"}},
		{"alpha NaN", func(c *Config) { c.Alpha = nan() }, []string{"Alpha = NaN"}},
		{"rate effect one", func(c *Config) { c.MinRateEffect = 1 }, []string{"MinRateEffect = 1"}},
		{"rate effect negative", func(c *Config) { c.MinRateEffect = -0.1 }, []string{"MinRateEffect = -0.1"}},
		{"mean effect negative", func(c *Config) { c.MinMeanEffect = -1 }, []string{"MinMeanEffect = -1"}},
		{"mean effect NaN", func(c *Config) { c.MinMeanEffect = nan() }, []string{"MinMeanEffect = NaN"}},
		{"negative pending", func(c *Config) { c.PendingWindows = -1 }, []string{"PendingWindows = -1"}},
		{"no pending is fine", func(c *Config) { c.PendingWindows = 0 }, nil},
		{"no resolve", func(c *Config) { c.ResolveWindows = 0 }, []string{"ResolveWindows = 0"}},
		{"negative resend", func(c *Config) { c.ResendWindows = -1 }, []string{"ResendWindows = -1"}},
		{"no resend is fine", func(c *Config) { c.ResendWindows = 0 }, nil},
		{"too many examples", func(c *Config) { c.MaxExamples = 6 }, []string{"MaxExamples = 6"}},
		{"negative examples", func(c *Config) { c.MaxExamples = -1 }, []string{"MaxExamples = -1"}},
		{"baseline z negative", func(c *Config) { c.BaselineZ = -1 }, []string{"BaselineZ = -1"}},
		{"baseline z zero is fine", func(c *Config) { c.BaselineZ = 0 }, nil},
		{"rate shift zero", func(c *Config) { c.RateCUSUMShift = 0 }, []string{"RateCUSUMShift = 0"}},
		{"rate threshold infinite", func(c *Config) { c.RateCUSUMThreshold = math.Inf(1) }, []string{"RateCUSUMThreshold = +Inf"}},
		{"value slack NaN", func(c *Config) { c.ValueCUSUMSlack = nan() }, []string{"ValueCUSUMSlack = NaN"}},
		{"value threshold zero", func(c *Config) { c.ValueCUSUMThreshold = 0 }, []string{"ValueCUSUMThreshold = 0"}},
		{"sample too small", func(c *Config) { c.SampleSize = 1 }, []string{"SampleSize = 1"}},
		{"negative large baseline", func(c *Config) { c.LargeBaseline = -1 }, []string{"LargeBaseline = -1"}},
		{"wasserstein negative", func(c *Config) { c.WassersteinThreshold = -0.1 }, []string{"WassersteinThreshold = -0.1"}},
		{"one bin", func(c *Config) { c.PSIBins = 1 }, []string{"PSIBins = 1"}},
		{"too many bins", func(c *Config) { c.PSIBins = 65 }, []string{"PSIBins = 65"}},
		{"psi NaN", func(c *Config) { c.PSIThreshold = nan() }, []string{"PSIThreshold = NaN"}},
		{"js above one", func(c *Config) { c.JSThreshold = 1.5 }, []string{"JSThreshold = 1.5"}},
		{"no categories", func(c *Config) { c.MaxCategories = 0 }, []string{"MaxCategories = 0"}},
		{"everything at once", func(c *Config) { *c = Config{} }, []string{
			"Window = 0s", "BaselineSize = 0", "MinSamples = 0", "Alpha = 0", "ResolveWindows = 0",
			"RateCUSUMShift = 0", "RateCUSUMThreshold = 0", "ValueCUSUMThreshold = 0", "SampleSize = 0",
			"PSIBins = 0", "MaxCategories = 0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors naming %q", tt.want)
			}
			msg := err.Error()
			lines := strings.Split(msg, "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("Validate() = %q: %d errors, want %d", msg, len(lines), len(tt.want))
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, "drift: "+w) {
					t.Errorf("Validate() = %q, want it to contain %q", msg, "drift: "+w)
				}
			}
		})
	}
}

func TestNewEngineInvalidConfigPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewEngine(Config{}) did not panic")
		}
	}()
	NewEngine(Config{})
}

func nan() float64 { return math.NaN() }
