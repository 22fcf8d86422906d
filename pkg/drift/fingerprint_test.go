package drift

import "testing"

// The expected values are Prometheus's model.LabelsToSignature test vectors (prometheus/common
// model/signature_test.go), rendered as Alertmanager renders fingerprints.
func TestFingerprint(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"nil", nil, "cbf29ce484222325"},                   // 14695981039346656037
		{"empty", map[string]string{}, "cbf29ce484222325"}, // 14695981039346656037
		{"two", map[string]string{"name": "garland, briggs", "fear": "love is not enough"}, "507a62d79ee76c9a"}, // 5799056148416392346
		{"single", map[string]string{"first-label": "first-label-value"}, "476b44f5db3e21f9"},                   // 5146282821936882169
		{"triple", map[string]string{
			"first-label":  "first-label-value",
			"second-label": "second-label-value",
			"third-label":  "third-label-value",
		}, "c01c58139d52b4b9"}, // 13843036195897128121
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fingerprint(tt.labels); got != tt.want {
				t.Errorf("Fingerprint(%v) = %q, want %q", tt.labels, got, tt.want)
			}
		})
	}
}

func TestFingerprintDistinguishesBoundaries(t *testing.T) {
	a := Fingerprint(map[string]string{"a": "bc"})
	b := Fingerprint(map[string]string{"ab": "c"})
	if a == b {
		t.Errorf("Fingerprint({a: bc}) = Fingerprint({ab: c}) = %q, want different", a)
	}
}
