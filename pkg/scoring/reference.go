package scoring

import (
	"math"

	"github.com/vigilhq/vigil/pkg/event"
)

// Helpers of the reference-based checks (exact_match, token_f1, rouge_l, bleu,
// levenshtein_ratio, json_equal).

// hasReference reports whether ev carries a reference answer to compare the output with.
func hasReference(ev *event.Event) bool { return hasOutput(ev) && ev.Expected != "" }

// articles are dropped by the SQuAD normalisation of answers.
var articles = [3]uint64{foldKey("a"), foldKey("an"), foldKey("the")}

func isArticle(k uint64) bool { return k == articles[0] || k == articles[1] || k == articles[2] }

// normalizedKeys appends to dst the keys of words, articles left out when dropArticles is set.
func normalizedKeys(dst []uint64, words []Word, dropArticles bool) []uint64 {
	for i := range words {
		if k := words[i].Key; !dropArticles || !isArticle(k) {
			dst = append(dst, k)
		}
	}
	return dst
}

// similarity is the shape of token_f1, rouge_l, bleu and levenshtein_ratio: a measure in [0, 1]
// of how close the output is to the reference, failing under a floor.
type similarity struct {
	name  string
	min   float64
	label string
	what  string // the measure, for reasons
	score func(in *Input) float64
}

var _ Check = (*similarity)(nil)

func (c *similarity) Name() string     { return c.name }
func (c *similarity) Kind() event.Kind { return event.KindMeasure }

func (c *similarity) Score(in *Input) (event.Score, bool) {
	if !hasReference(in.Event()) {
		return event.Score{}, false
	}
	v := c.score(in)
	if math.IsNaN(v) {
		v = 0
	}
	sc := event.Score{Metric: c.name, Kind: event.KindMeasure, Value: v, Pass: v >= c.min}
	if !sc.Pass {
		sc.Label = c.label
		sc.Reason = reasonf("Output's %s against the expected answer is %.2f, under %.2f; compare the two and check the prompt and retrieval.", c.what, v, c.min)
	}
	return sc, true
}

// newSimilarity reads the min parameter and builds the check.
func newSimilarity(name, what string, def float64, p Params, score func(*Input) float64) (Check, error) {
	floor, err := p.Float("min", def)
	if err != nil {
		return nil, err
	}
	if err := between("min", floor, 0, 1); err != nil {
		return nil, err
	}
	return &similarity{name: name, min: floor, label: "low_similarity", what: what, score: score}, nil
}

// minParam is the parameter of the similarity checks.
func minParam(def float64, doc string) []ParamInfo {
	return []ParamInfo{{Name: "min", Type: "number", Default: def, Doc: doc}}
}
