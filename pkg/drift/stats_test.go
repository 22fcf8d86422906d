package drift

import (
	"math"
	"testing"
)

const tol = 1e-6

func near(a, b float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
}

func TestUpperTail(t *testing.T) {
	tests := []struct {
		z, want float64
	}{
		{0, 0.5},
		{1, 0.15865525393145707},
		{1.959963984540054, 0.025},
		{3.090232306167813, 0.001},
		{-1.959963984540054, 0.975},
		{40, 0}, // underflows to zero rather than NaN
	}
	for _, tt := range tests {
		if got := upperTail(tt.z); !near(got, tt.want) {
			t.Errorf("upperTail(%v) = %v, want %v", tt.z, got, tt.want)
		}
	}
}

func TestTwoSidedP(t *testing.T) {
	tests := []struct {
		z, want float64
	}{
		{0, 1},
		{1.959963984540054, 0.05},
		{-1.959963984540054, 0.05},
		{3.290526731491926, 0.001},
	}
	for _, tt := range tests {
		if got := twoSidedP(tt.z); !near(got, tt.want) {
			t.Errorf("twoSidedP(%v) = %v, want %v", tt.z, got, tt.want)
		}
	}
}

func TestZCritical(t *testing.T) {
	tests := []struct {
		p, want float64
	}{
		{0.5, 0},
		{0.025, 1.959963984540054},
		{0.001, 3.090232306167813},
		{0.0005, 3.290526731491926},
		{0.00025, 3.4807564043523454},
	}
	for _, tt := range tests {
		if got := zCritical(tt.p); !near(got, tt.want) {
			t.Errorf("zCritical(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestTwoProportionZ(t *testing.T) {
	tests := []struct {
		name           string
		f0, n0, f1, n1 int64
		want           float64
	}{
		// pooled p = 40/1000, se = sqrt(0.04*0.96*(1/500+1/500)) = 0.0123935
		{"increase", 10, 500, 30, 500, 3.227486121839514},
		{"decrease", 30, 500, 10, 500, -3.227486121839514},
		// pooled p = 60/700, se = sqrt(p(1-p)(1/500+1/200)) = 0.0234100
		{"unequal sizes", 20, 500, 40, 200, 6.831300510639733},
		{"equal", 10, 500, 4, 200, 0},
		{"no failures", 0, 500, 0, 200, 0},
		{"all failures", 500, 500, 200, 200, 0},
		{"empty window", 10, 500, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := twoProportionZ(tt.f0, tt.n0, tt.f1, tt.n1); !near(got, tt.want) {
				t.Errorf("twoProportionZ(%d, %d, %d, %d) = %v, want %v", tt.f0, tt.n0, tt.f1, tt.n1, got, tt.want)
			}
		})
	}
}

func TestWelchZ(t *testing.T) {
	tests := []struct {
		name        string
		mean0, var0 float64
		n0          int64
		mean1, var1 float64
		n1          int64
		want        float64
	}{
		// se = sqrt(4/100 + 9/100) = 0.3605551
		{"shift up", 10, 4, 100, 11, 9, 100, 2.773500981126146},
		{"shift down", 11, 9, 100, 10, 4, 100, -2.773500981126146},
		// se = sqrt(100/500 + 400/50) = 2.8635642
		{"unequal", 50, 100, 500, 60, 400, 50, 3.492151478847891},
		{"no variance", 1, 0, 500, 1, 0, 50, 0},
		{"empty", 1, 1, 0, 2, 1, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := welchZ(tt.mean0, tt.var0, tt.n0, tt.mean1, tt.var1, tt.n1); !near(got, tt.want) {
				t.Errorf("welchZ(%v, %v, %d, %v, %v, %d) = %v, want %v",
					tt.mean0, tt.var0, tt.n0, tt.mean1, tt.var1, tt.n1, got, tt.want)
			}
		})
	}
}

func TestMoments(t *testing.T) {
	tests := []struct {
		name     string
		xs       []float64
		mean     float64
		variance float64
	}{
		{"textbook", []float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, 32.0 / 7},
		{"one", []float64{3}, 3, 0},
		{"none", nil, 0, 0},
		// Large offset: the naive sum-of-squares form loses every digit here.
		{"offset", []float64{1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16}, 1e9 + 10, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m moments
			for _, x := range tt.xs {
				m.add(x)
			}
			if m.n != int64(len(tt.xs)) || !near(m.mean, tt.mean) || !near(m.variance(), tt.variance) {
				t.Errorf("moments(%v) = n %d mean %v variance %v, want n %d mean %v variance %v",
					tt.xs, m.n, m.mean, m.variance(), len(tt.xs), tt.mean, tt.variance)
			}
		})
	}
}

func TestMeanScaleFloor(t *testing.T) {
	tests := []struct{ mean, want float64 }{
		{0, 0.01},
		{0.5, 0.01},
		{-3, 0.03},
		{200, 2},
	}
	for _, tt := range tests {
		if got := meanScaleFloor(tt.mean); !near(got, tt.want) {
			t.Errorf("meanScaleFloor(%v) = %v, want %v", tt.mean, got, tt.want)
		}
	}
}

func TestBinomialUpperTail(t *testing.T) {
	// direct sums P(X ≥ x) with exact binomial coefficients, for n small enough for float64
	direct := func(x, n int64, p float64) float64 {
		s := 0.0
		for k := x; k <= n; k++ {
			c := 1.0
			for i := int64(0); i < k; i++ {
				c = c * float64(n-i) / float64(i+1)
			}
			s += c * math.Pow(p, float64(k)) * math.Pow(1-p, float64(n-k))
		}
		return s
	}
	for _, c := range []struct {
		x, n int64
		p    float64
		want float64
	}{
		{8, 10, 0.5, 56.0 / 1024},
		{10, 10, 0.5, 1.0 / 1024},
		{11, 10, 0.5, 0},
		{0, 10, 0.5, 1},
		{3, 10, 0.5, 1}, // at or below the mean
		{5, 100, 0, 0},
		{5, 100, 1, 1},
		{10, 100, 0.02, direct(10, 100, 0.02)},
		{60, 1000, 0.027, -1},
		{6, 173, 0.006, direct(6, 173, 0.006)},
	} {
		got := binomialUpperTail(c.x, c.n, c.p)
		want := c.want
		if want < 0 {
			want = direct(c.x, c.n, c.p)
		}
		if math.Abs(got-want) > 1e-9*math.Max(want, 1e-300) && math.Abs(got-want) > 1e-15 {
			t.Errorf("binomialUpperTail(%d, %d, %v) = %v, want %v", c.x, c.n, c.p, got, want)
		}
	}
}
