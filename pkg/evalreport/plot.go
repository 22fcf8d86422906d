package evalreport

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/event"
)

// Plot geometry in SVG user units; the SVG scales to its box.
const (
	plotW, plotH               = 560.0, 210.0
	padL, padR, padT, padB     = 48.0, 14.0, 14.0, 30.0
	innerW, innerH             = plotW - padL - padR, plotH - padT - padB
	inset                      = 14.0 // keeps the first and last points off the axes
	maxSeries              int = 8
)

// timeLayout picks how precisely the x labels print a time: runs minutes apart need seconds,
// runs weeks apart only the day.
func timeLayout(span time.Duration) string {
	switch {
	case span < 2*time.Hour:
		return "Jan 2 15:04:05"
	case span < 4*24*time.Hour:
		return "Jan 2 15:04"
	}
	return "Jan 2"
}

// palette is readable on white and for the common colour-vision deficiencies (Okabe-Ito).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"}

type plotView struct {
	Metric, Signal, Anchor string
	W, H                   float64
	Left, Right, Top, Base float64
	YTicks, XTicks         []tick
	Series                 []seriesView
}

type tick struct {
	Pos   float64
	Label string
	// Anchor aligns an x label: "start", "middle" or "end", so the outer ones stay in the box.
	Anchor string
}

type seriesView struct {
	Label, Color, Path string
	Points             []pointView
}

type pointView struct {
	X, Y  float64
	Title string
	// Mark is "run" or "against" for the two runs of the report, "" otherwise.
	Mark string
}

type legendItem struct{ Label, Color string }

// plots draws one chart per metric of the history: pass rate for checks, mean value for
// measures, one line per prompt version (and dataset version, when the history spans several),
// on a time axis shared by every chart.
func plots(in Input, kinds map[string]event.Kind) ([]plotView, []legendItem) {
	if len(in.History) == 0 {
		return nil, nil
	}
	versions := map[uint32]bool{}
	t0, t1 := in.History[0].StartedAt, in.History[0].StartedAt
	for _, h := range in.History {
		versions[h.Version] = true
		if h.StartedAt.Before(t0) {
			t0 = h.StartedAt
		}
		if h.StartedAt.After(t1) {
			t1 = h.StartedAt
		}
	}
	if !t1.After(t0) {
		t0, t1 = t0.Add(-time.Minute), t1.Add(time.Minute)
	}
	label := func(h HistoryPoint) string {
		if len(versions) > 1 {
			return "prompt " + h.PromptVersion + " · " + eval.Ref(h.Dataset, h.Version)
		}
		return "prompt " + h.PromptVersion
	}
	// Colours follow the series label, the same in every chart.
	var labels []string
	byMetric := map[string][]HistoryPoint{}
	for _, h := range in.History {
		labels = append(labels, label(h))
		byMetric[h.Metric] = append(byMetric[h.Metric], h)
	}
	slices.Sort(labels)
	labels = slices.Compact(labels)
	colors := map[string]string{}
	var legend []legendItem
	for i, l := range labels {
		colors[l] = palette[i%len(palette)]
		if i < maxSeries {
			legend = append(legend, legendItem{Label: l, Color: colors[l]})
		}
	}
	x := func(t time.Time) float64 {
		return padL + inset + (innerW-2*inset)*float64(t.Sub(t0))/float64(t1.Sub(t0))
	}
	var xticks []tick
	layout := timeLayout(t1.Sub(t0))
	for i := range 3 {
		t := t0.Add(time.Duration(float64(t1.Sub(t0)) * float64(i) / 2))
		xticks = append(xticks, tick{Pos: round(x(t)), Label: t.UTC().Format(layout), Anchor: []string{"start", "middle", "end"}[i]})
	}
	metrics := make([]string, 0, len(byMetric))
	for m := range byMetric {
		metrics = append(metrics, m)
	}
	slices.Sort(metrics)
	var out []plotView
	for _, m := range metrics {
		points := byMetric[m]
		measure := kinds[m] == event.KindMeasure
		value := func(h HistoryPoint) float64 { return h.PassRate }
		signal := "pass rate"
		if measure {
			value = func(h HistoryPoint) float64 { return h.MeanValue }
			signal = "mean value"
		}
		lo, hi := 0.0, 1.0
		if measure {
			lo, hi = math.Inf(1), math.Inf(-1)
			for _, h := range points {
				if v := value(h); !math.IsNaN(v) && !math.IsInf(v, 0) {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			switch {
			case lo > hi: // no finite value
				lo, hi = 0, 1
			case lo >= 0 && hi <= 1:
				lo, hi = 0, 1
			case lo == hi:
				lo, hi = lo-1, hi+1
			default:
				pad := (hi - lo) * 0.08
				lo, hi = lo-pad, hi+pad
			}
		}
		y := func(v float64) float64 { return padT + innerH*(1-(v-lo)/(hi-lo)) }
		pv := plotView{Metric: m, Signal: signal, Anchor: plotAnchor(m), W: plotW, H: plotH,
			Left: padL, Right: plotW - padR, Top: padT, Base: padT + innerH, XTicks: xticks}
		for i := range 5 {
			v := lo + (hi-lo)*float64(i)/4
			pv.YTicks = append(pv.YTicks, tick{Pos: round(y(v)), Label: shortNum(v)})
		}
		series := map[string]*seriesView{}
		slices.SortStableFunc(points, func(a, b HistoryPoint) int {
			return cmp.Or(a.StartedAt.Compare(b.StartedAt), strings.Compare(a.RunID, b.RunID))
		})
		for _, h := range points {
			v := value(h)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			l := label(h)
			s := series[l]
			if s == nil {
				s = &seriesView{Label: l, Color: colors[l]}
				series[l] = s
			}
			pt := pointView{X: round(x(h.StartedAt)), Y: round(y(v)),
				Title: fmt.Sprintf("%s · %s · prompt %s · model %s · %s · %s %s (%d cases, %s)", h.RunID, eval.Ref(h.Dataset, h.Version),
					h.PromptVersion, h.Model, h.StartedAt.UTC().Format("2006-01-02 15:04"), signal, num(v), h.Cases, h.Status)}
			switch {
			case in.Run != nil && h.RunID == in.Run.ID:
				pt.Mark = "run"
			case in.Against != nil && h.RunID == in.Against.ID:
				pt.Mark = "against"
			}
			s.Points = append(s.Points, pt)
		}
		for _, l := range labels {
			s := series[l]
			if s == nil {
				continue
			}
			var b strings.Builder
			for i, pt := range s.Points {
				if i == 0 {
					fmt.Fprintf(&b, "M%g %g", pt.X, pt.Y)
				} else {
					fmt.Fprintf(&b, " L%g %g", pt.X, pt.Y)
				}
			}
			if len(s.Points) == 1 {
				// A one-run series still gets a visible line segment.
				fmt.Fprintf(&b, " h0.01")
			}
			s.Path = b.String()
			pv.Series = append(pv.Series, *s)
		}
		out = append(out, pv)
	}
	return out, legend
}

func round(v float64) float64 { return math.Round(v*10) / 10 }

func shortNum(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000 || a < 0.01:
		return fmt.Sprintf("%.2g", v)
	case a >= 10:
		return fmt.Sprintf("%.0f", v)
	default:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	}
}
