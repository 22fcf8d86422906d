package scoring

import (
	"errors"
	"math"
	"strconv"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "ungrounded_numbers", Kind: event.KindMeasure,
		Description: "Number of distinct numbers in the output that appear in neither the retrieved context nor the prompt.",
		Applies:     "context is set; status is not error",
		Fails:       "more than max ungrounded numbers",
		Params: []ParamInfo{
			{Name: "max", Type: "integer", Default: 0, Doc: "ungrounded numbers tolerated"},
			{Name: "min_digits", Type: "integer", Default: 2, Doc: "numbers with fewer digits (list markers, \"3 options\") are ignored"},
		},
		Threshold: "max",
	}, newUngroundedNumbers)
}

// ungroundedNumbers is the "ungrounded_numbers" measure: does the output state numbers that the
// sources do not?
//
// Inputs: Output, Context, and the prompt ([Input.Prompt]), whose numbers the answer may repeat.
// Applies when Context has a passage and the status is not "error".
// Output: value = number of distinct numbers of the output with min_digits digits or more that
// occur in neither the context nor the prompt. Numbers are runs of ASCII digits with single
// "." or "," between digits, compared by value under both conventions ("1,299.00" = "1299" =
// "1.299,00"; "3.50" = "3.5"; "30" ≠ "3"); signs, currency and units are ignored, and "17:30" or
// "2024-05-01" are separate numbers. Fails with label "ungrounded" when value > max; the reason
// quotes up to three numbers, long ones (9 digits or more) only by their length.
// Parameters: max (integer, default 0; the threshold), min_digits (integer, default 2).
type ungroundedNumbers struct {
	max, minDigits int
}

var _ Check = ungroundedNumbers{}

func newUngroundedNumbers(_ Env, p Params) (Check, error) {
	limit, err1 := p.Int("max", 0)
	digits, err2 := p.Int("min_digits", 2)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if err := errors.Join(atLeast("max", limit, 0), between("min_digits", digits, 1, 20)); err != nil {
		return nil, err
	}
	return ungroundedNumbers{max: limit, minDigits: digits}, nil
}

func (ungroundedNumbers) Name() string     { return "ungrounded_numbers" }
func (ungroundedNumbers) Kind() event.Kind { return event.KindMeasure }

func (c ungroundedNumbers) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasContext(ev) {
		return event.Score{}, false
	}
	ground := &in.tabs[0]
	ground.reset(64)
	addValues := func(s string) {
		scanNumbers(s, func(num string, _ int) {
			a, b, ok := numberValues(num)
			ground.put(valueKey(a), 1)
			if ok {
				ground.put(valueKey(b), 1)
			}
		})
	}
	for _, s := range in.Context().Segments() {
		addValues(s)
	}
	for _, s := range in.Prompt().Segments() {
		addValues(s)
	}
	seen := &in.tabs[1]
	seen.reset(16)
	n := 0
	var quoted []string
	scanNumbers(ev.Output, func(num string, digits int) {
		if digits < c.minDigits {
			return
		}
		a, b, ok := numberValues(num)
		if ground.has(valueKey(a)) || ok && ground.has(valueKey(b)) || seen.add(valueKey(a), 1) > 1 {
			return
		}
		n++
		if len(quoted) < 4 {
			if digits >= 9 {
				quoted = append(quoted, "a "+strconv.Itoa(digits)+"-digit number")
			} else {
				quoted = append(quoted, num)
			}
		}
	})
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(n), Pass: n <= c.max}
	if !sc.Pass {
		sc.Label = "ungrounded"
		sc.Reason = reasonf("Output states %s found in neither the context nor the prompt (%s); the model may have made them up.", plural(n, "number", "numbers"), quoteList(quoted, 3))
	}
	return sc, true
}

// scanNumbers calls found with every number of s (digits with single "." or "," between digits)
// and its count of digits.
func scanNumbers(s string, found func(num string, digits int)) {
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j, digits := i, 0
		for j < len(s) {
			if isDigit(s[j]) {
				digits++
				j++
				continue
			}
			if (s[j] == '.' || s[j] == ',') && j+1 < len(s) && isDigit(s[j+1]) {
				j++
				continue
			}
			break
		}
		found(s[i:j], digits)
		i = j
	}
}

// numberValues returns the value of num, and a second value with ok when num reads differently
// with "." and "," swapped ("1.299": 1.299 or 1299).
func numberValues(num string) (a, b float64, ok bool) {
	var dots, commas, last int
	lastSep := byte(0)
	for i := 0; i < len(num); i++ {
		switch num[i] {
		case '.':
			dots++
			lastSep, last = '.', i
		case ',':
			commas++
			lastSep, last = ',', i
		}
	}
	switch {
	case dots == 0 && commas == 0:
		return parseNumber(num, 0), 0, false
	case dots > 0 && commas > 0:
		// The last separator is the decimal one.
		return parseNumber(num, lastSep), 0, false
	case dots+commas > 1:
		// Repeated: thousands separators.
		return parseNumber(num, 0), 0, false
	case len(num)-last-1 == 3:
		// "1,299" or "1.299": thousands or decimals.
		return parseNumber(num, 0), parseNumber(num, lastSep), true
	}
	return parseNumber(num, lastSep), 0, false
}

// parseNumber returns the value of the digits of num, with dec (if not 0) as the decimal
// separator and any other separator ignored. Equal strings give equal values, which is all the
// comparison needs.
func parseNumber(num string, dec byte) float64 {
	var v, scale float64 = 0, 0
	for i := 0; i < len(num); i++ {
		c := num[i]
		switch {
		case isDigit(c):
			v = v*10 + float64(c-'0')
			if scale > 0 {
				scale *= 10
			}
		case c == dec && dec != 0:
			scale = 1
		}
	}
	if scale > 0 {
		v /= scale
	}
	return v
}

// valueKey turns a number's value into a table key.
func valueKey(v float64) uint64 {
	if v == 0 {
		v = 0 // -0 and +0 alike
	}
	return finish(math.Float64bits(v) ^ hashK0)
}
