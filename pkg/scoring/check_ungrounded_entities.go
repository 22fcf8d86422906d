package scoring

import (
	"errors"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "ungrounded_entities", Kind: event.KindMeasure,
		Description: "Number of distinct multi-word names (capitalised words) in the output that appear in neither the retrieved context nor the prompt.",
		Applies:     "context is set; status is not error",
		Fails:       "more than max ungrounded names",
		Params: []ParamInfo{
			{Name: "max", Type: "integer", Default: 0, Doc: "ungrounded names tolerated"},
			{Name: "single", Type: "boolean", Default: false, Doc: "also check single capitalised words inside sentences (for English; German capitalises every noun)"},
		},
		Threshold: "max",
	}, newUngroundedEntities)
}

// ungroundedEntities is the "ungrounded_entities" measure: does the output name people, places,
// products or organisations that the sources do not?
//
// Inputs: Output, Context, and the prompt ([Input.Prompt]). Applies when Context has a passage
// and the status is not "error".
// Output: value = number of distinct names in the output with a word found in neither the context
// nor the prompt (words compared folded). A name is a run of two or more capitalised words that
// are not stop words, within one sentence, which lower-case connectors may join ("Bank of
// America", "Universidad de Buenos Aires", "Ludwig van Beethoven"); a sentence's first word belongs to it only when the
// sources have it, since its capital may be positional. With single set, one capitalised word
// inside a sentence counts too. Scripts without case (CJK, Arabic, ...) have no names here.
// Fails with label "ungrounded" when value > max; the reason quotes up to three names.
// Parameters: max (integer, default 0; the threshold), single (boolean, default false).
type ungroundedEntities struct {
	max    int
	single bool
}

var _ Check = ungroundedEntities{}

func newUngroundedEntities(_ Env, p Params) (Check, error) {
	limit, err1 := p.Int("max", 0)
	single, err2 := p.Bool("single", false)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if err := atLeast("max", limit, 0); err != nil {
		return nil, err
	}
	return ungroundedEntities{max: limit, single: single}, nil
}

func (ungroundedEntities) Name() string     { return "ungrounded_entities" }
func (ungroundedEntities) Kind() event.Kind { return event.KindMeasure }

// connectors may join the capitalised words of a name.
var connectors = func() *table {
	var t table
	words := []string{"of", "de", "del", "della", "di", "da", "do", "dos", "du", "des", "la", "le", "van", "von", "der", "den", "y", "and", "&", "for", "on", "upon"}
	t.reset(len(words))
	for _, w := range words {
		t.put(foldKey(w), 1)
	}
	return &t
}()

func isNameWord(w Word) bool {
	return w.Flags&(WordCapitalized|WordLetter) == WordCapitalized|WordLetter && w.Flags&WordCJK == 0 && !isStopword(w.Key)
}

func (c ungroundedEntities) Score(in *Input) (event.Score, bool) {
	if !hasContext(in.Event()) {
		return event.Score{}, false
	}
	ground := &in.tabs[0]
	var filter keyFilter
	groundWords(in, ground, &filter, true)
	seen := &in.tabs[1]
	seen.reset(16)
	t := in.Output()
	words := t.Words()
	n := 0
	var quoted []string
	for i := 0; i < len(words); {
		if !isNameWord(words[i]) {
			i++
			continue
		}
		// The run of name words (and connectors between them) from i, within the sentence.
		last, j := i, i+1
		for j < len(words) && words[j].Flags&WordSentenceStart == 0 {
			if isNameWord(words[j]) {
				last, j = j, j+1
				continue
			}
			if words[j].Flags&WordCapitalized == 0 && connectors.has(words[j].Key) && j+1 < len(words) &&
				words[j+1].Flags&WordSentenceStart == 0 && isNameWord(words[j+1]) {
				j++
				continue
			}
			break
		}
		first := i
		if words[first].Flags&WordSentenceStart != 0 && !ground.has(words[first].Key) {
			first++
		}
		names := 0
		grounded := true
		for k := first; k <= last; k++ {
			if isNameWord(words[k]) {
				names++
				grounded = grounded && ground.has(words[k].Key)
			}
		}
		single := c.single && names == 1 && first == i
		if (names >= 2 || single) && !grounded {
			key := ngramKeyWords(words[first : last+1])
			if seen.add(key, 1) == 1 {
				n++
				if len(quoted) < 4 {
					quoted = append(quoted, oneLine(t.span(words[first], words[last])))
				}
			}
		}
		i = last + 1
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(n), Pass: n <= c.max}
	if !sc.Pass {
		sc.Label = "ungrounded"
		sc.Reason = reasonf("Output names %s found in neither the context nor the prompt (%s); the model may have made them up.", plural(n, "entity", "entities"), quoteList(quoted, 3))
	}
	return sc, true
}

// ngramKeyWords hashes the keys of words.
func ngramKeyWords(words []Word) uint64 {
	h := uint64(len(words)) * hashK2
	for _, w := range words {
		h = (h ^ w.Key) * hashK1
		h ^= h >> 29
	}
	return finish(h)
}
