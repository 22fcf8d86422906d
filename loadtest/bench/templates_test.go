package bench

import (
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

// The share of bad outputs the load carries follows -bad-share.
func TestTemplatesCarryTheBadShare(t *testing.T) {
	tests := []struct {
		share    float64
		min, max int // bad templates of 256
	}{
		{0, 0, 0},
		{0.05, 4, 30},
		{0.5, 100, 156},
		{1, 256, 256},
	}
	for _, tt := range tests {
		templates := loadTemplates(256, tt.share)
		bad := 0
		for i, body := range templates.bodies {
			ev, err := event.Decoder{}.Decode(body)
			if err != nil {
				t.Fatalf("share %v: template %d does not decode: %v", tt.share, i, err)
			}
			if strings.HasPrefix(ev.Output, "I'm sorry") || ev.FinishReason == "length" || ev.Attributes["output_format"] == "json" {
				bad++
			}
		}
		if bad < tt.min || bad > tt.max {
			t.Errorf("share %v: %d bad templates of 256, want %d to %d", tt.share, bad, tt.min, tt.max)
		}
	}
}
