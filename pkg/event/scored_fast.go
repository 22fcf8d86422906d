package event

import (
	"bytes"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/segmentio/encoding/iso8601"
)

// decodeScoredFast decodes a packed scored batch written in exactly the form the encoder gives
// it (AppendMarshal of each record joined in {"records":[...]}, as stream.PackScored builds it)
// without reflection. It reports false, leaving the input to the strict decoder, for anything
// else: whitespace, keys it does not expect in the encoder's order, null where a value belongs,
// surrogate or unknown escapes, invalid UTF-8, numbers outside JSON's grammar or float64's range.
// What it accepts, it decodes exactly as the strict decoder does; records are not validated.
// With reuse set the records and their scores are decoded into its memory, which then holds
// them until the next call with it.
func decodeScoredFast(data []byte, alias bool, sizeHint int, reuse *ScoredBuffers) ([]Scored, bool) {
	const open, closing = `{"records":[`, `]}`
	if len(data) < len(open)+len(closing) || string(data[:len(open)]) != open ||
		string(data[len(data)-len(closing):]) != closing {
		return nil, false
	}
	p := scoredParser{data: data[:len(data)-len(closing)], pos: len(open), alias: alias, arenaAlways: reuse != nil,
		dropReasons: reuse != nil && reuse.DropReasons}
	if sizeHint <= 0 || sizeHint > len(data)/64 {
		// A record key can occur only where a record starts: quotes inside strings are escaped.
		sizeHint = bytes.Count(data, []byte(`{"event_id":`))
	}
	var recs []Scored
	if reuse != nil {
		recs, p.arena = slices.Grow(reuse.records[:0], sizeHint), reuse.scores[:0]
		// Keep what this call grew to for the next, whatever the outcome.
		defer func() { reuse.records, reuse.scores = recs[:0], p.arena[:0] }()
	} else {
		recs = make([]Scored, 0, sizeHint)
	}
	if p.pos == len(p.data) {
		return recs, true
	}
	prev := &Scored{}
	for {
		recs = append(recs, Scored{})
		rec := &recs[len(recs)-1]
		if !p.record(rec, prev) {
			return nil, false
		}
		if p.pos == len(p.data) {
			return recs, true
		}
		if p.data[p.pos] != ',' {
			return nil, false
		}
		p.pos++
		prev = rec
	}
}

// ScoredBuffers is memory that DecodeScoredBatchInto decodes records and scores into and keeps
// from one call to the next, so that a consumer decoding one batch after another allocates
// nothing for them once the buffers have grown to its batches. The zero value is ready to use.
type ScoredBuffers struct {
	// DropReasons leaves every score's Reason empty, for a consumer that reads none: a failing
	// check's reason differs from record to record, and copying it was most of what such a
	// consumer allocated to decode.
	DropReasons bool

	records []Scored
	scores  []Score
}

// ClearReasons empties the reason of every score of recs: what ScoredBuffers.DropReasons gives a
// decoder that did not drop them as it parsed.
func ClearReasons(recs []Scored) {
	for i := range recs {
		for j := range recs[i].Scores {
			recs[i].Scores[j].Reason = ""
		}
	}
}

// Size is the memory the buffers hold, in bytes.
func (b *ScoredBuffers) Size() int {
	return cap(b.records)*int(unsafe.Sizeof(Scored{})) + cap(b.scores)*int(unsafe.Sizeof(Score{}))
}

// scoredParser walks one packed batch. Copied strings equal to the previous record's value at
// the same place share its memory, so a batch's repeated labels and metric names are allocated
// once rather than once per record.
type scoredParser struct {
	data        []byte
	pos         int
	alias       bool
	dropReasons bool    // see ScoredBuffers.DropReasons
	arenaAlways bool    // cut scores from the arena even without alias: the caller reuses it
	arena       []Score // the backing array the records' scores are cut from
	scores      int     // scores parsed so far, to size the next arena
}

// inArena reports whether scores are cut from one arena rather than a slice per record.
func (p *scoredParser) inArena() bool { return p.alias || p.arenaAlways }

func (p *scoredParser) record(r, prev *Scored) bool {
	return p.field(`{"event_id":`, &r.EventID, "") &&
		p.lit(`,"timestamp":`) && p.time(&r.Timestamp) &&
		p.field(`,"series":{"app":`, &r.Series.App, prev.Series.App) &&
		p.field(`,"environment":`, &r.Series.Environment, prev.Series.Environment) &&
		p.field(`,"feature":`, &r.Series.Feature, prev.Series.Feature) &&
		p.field(`,"model":`, &r.Series.Model, prev.Series.Model) &&
		p.field(`,"prompt_version":`, &r.Series.PromptVersion, prev.Series.PromptVersion) &&
		p.lit(`}`) &&
		p.optField(`,"stage":`, &r.Stage, prev.Stage) &&
		p.field(`,"source":`, &r.Source, prev.Source) &&
		p.field(`,"rules_version":`, &r.RulesVersion, prev.RulesVersion) &&
		p.lit(`,"scores":`) && p.scoreList(&r.Scores, prev.Scores) &&
		p.lit(`}`)
}

var noScore Score

// scoreList parses a record's scores straight into the memory they are kept in, so that a record
// costs at most one allocation for its scores instead of a slice grown step by step: with alias
// or reused buffers, an arena sized for the rest of the batch; otherwise a slice of its own sized
// as the previous record's, since such records may be retained one by one and must not pin their
// neighbours.
func (p *scoredParser) scoreList(dst *[]Score, prev []Score) bool {
	if p.lit(`null`) {
		return true // as the strict decoder, a nil slice
	}
	if !p.lit(`[`) {
		return false
	}
	if p.lit(`]`) {
		*dst = []Score{} // as the strict decoder: empty, not nil
		return true
	}
	buf, start := p.arena, len(p.arena)
	if !p.inArena() {
		buf, start = make([]Score, 0, max(len(prev), 8)), 0
	}
	for {
		if len(buf) == cap(buf) {
			buf, start = p.grow(buf[start:])
		}
		buf = buf[:len(buf)+1]
		buf[len(buf)-1] = Score{} // reused memory: absent fields must read empty
		pv := &noScore
		if n := len(buf) - 1 - start; n < len(prev) {
			pv = &prev[n]
		}
		if !p.score(&buf[len(buf)-1], pv) {
			return false
		}
		if p.lit(`]`) {
			break
		}
		if !p.lit(`,`) {
			return false
		}
	}
	p.scores += len(buf) - start
	if p.inArena() {
		p.arena = buf
	}
	*dst = buf[start:len(buf):len(buf)]
	return true
}

// grow moves the scores parsed so far of the current record into a larger slice and returns it
// with the record's first index. An arena grows to what the rest of the batch is expected to need;
// one that is reused grows to what the whole batch needs, so that the next batch of this size
// fits it from the start.
func (p *scoredParser) grow(cur []Score) ([]Score, int) {
	n := 2 * len(cur)
	if p.inArena() {
		// Expect the rest of the batch to hold scores as densely as what was parsed so far.
		rest := (len(p.data) - p.pos) * (p.scores + len(cur)) / p.pos
		if p.arenaAlways {
			rest += p.scores
		}
		n = max(n, len(cur)+rest+rest/8) + 8
	}
	buf := make([]Score, len(cur), n)
	copy(buf, cur)
	return buf, 0
}

func (p *scoredParser) score(s, prev *Score) bool {
	return p.field(`{"metric":`, &s.Metric, prev.Metric) &&
		p.kind(&s.Kind) && p.number(&s.Value) &&
		p.lit(`,"pass":`) && p.bool(&s.Pass) &&
		p.optField(`,"label":`, &s.Label, prev.Label) &&
		p.reason(&s.Reason, prev.Reason) &&
		p.lit(`}`)
}

// reason parses a score's optional reason, or, with dropReasons, checks it as str would and
// leaves dst empty.
func (p *scoredParser) reason(dst *string, prev string) bool {
	const key = `,"reason":`
	if !p.dropReasons {
		return p.optField(key, dst, prev)
	}
	if !p.lit(key) {
		return true
	}
	start := p.pos
	_, escaped, ok := p.rawString()
	if ok && escaped {
		// Escapes are rare in reasons: str checks them, at the cost of one copy.
		p.pos = start
		_, ok = p.str("")
	}
	return ok
}

// lit consumes s if the input continues with it.
func (p *scoredParser) lit(s string) bool {
	if len(p.data)-p.pos < len(s) || string(p.data[p.pos:p.pos+len(s)]) != s {
		return false
	}
	p.pos += len(s)
	return true
}

func (p *scoredParser) field(key string, dst *string, prev string) bool {
	if !p.lit(key) {
		return false
	}
	s, ok := p.str(prev)
	*dst = s
	return ok
}

// optField parses an omitempty field: absent, it leaves dst empty.
func (p *scoredParser) optField(key string, dst *string, prev string) bool {
	if len(p.data)-p.pos < len(key) || string(p.data[p.pos:p.pos+len(key)]) != key {
		return true
	}
	return p.field(key, dst, prev)
}

// str parses a JSON string. Without escapes it aliases the input (alias set) or returns prev
// when equal to it; with escapes it returns a new string.
func (p *scoredParser) str(prev string) (string, bool) {
	raw, escaped, ok := p.rawString()
	if !ok {
		return "", false
	}
	switch {
	case escaped:
		return unescape(raw)
	case len(raw) == 0:
		return "", true
	case p.alias:
		return unsafe.String(&raw[0], len(raw)), true
	case string(raw) == prev:
		return prev, true
	}
	return string(raw), true
}

// rawString consumes a string and returns its bytes between the quotes. It declines control
// characters, which JSON forbids, and invalid UTF-8, which the strict decoder replaces.
func (p *scoredParser) rawString() (raw []byte, escaped, ok bool) {
	d := p.data
	if p.pos >= len(d) || d[p.pos] != '"' {
		return nil, false, false
	}
	start := p.pos + 1
	ascii := true
	for i := start; i < len(d); i++ {
		if plainByte[d[i]] {
			continue
		}
		switch c := d[i]; {
		case c == '"':
			raw = d[start:i]
			if !ascii && !utf8.Valid(raw) {
				return nil, false, false
			}
			p.pos = i + 1
			return raw, escaped, true
		case c == '\\':
			escaped = true
			i++ // the escaped byte cannot end the string
		case c < 0x20:
			return nil, false, false
		default:
			ascii = false
		}
	}
	return nil, false, false
}

// plainByte marks the bytes a string holds as they are: printable ASCII but the quote and the
// backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// unescape decodes the escapes of raw as the strict decoder does, declining the ones whose
// handling it does not reproduce (surrogates) or that are not JSON.
func unescape(raw []byte) (string, bool) {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i == len(raw) {
			return "", false
		}
		switch raw[i] {
		case '"', '\\', '/':
			out = append(out, raw[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(raw[i+1:])
			if !ok || utf8.RuneLen(r) < 0 { // RuneLen rejects surrogate halves
				return "", false
			}
			out = utf8.AppendRune(out, r)
			i += 4
		default:
			return "", false
		}
	}
	if len(out) == 0 {
		return "", true
	}
	return unsafe.String(&out[0], len(out)), true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// kind parses a score's kind and the key after it, sharing the constants' memory for the two
// known kinds.
func (p *scoredParser) kind(dst *Kind) bool {
	switch {
	case p.lit(`,"kind":"check","value":`):
		*dst = KindCheck
	case p.lit(`,"kind":"measure","value":`):
		*dst = KindMeasure
	default:
		if !p.lit(`,"kind":`) {
			return false
		}
		s, ok := p.str("")
		*dst = Kind(s)
		return ok && p.lit(`,"value":`)
	}
	return true
}

// time parses a timestamp with the function the strict decoder uses, so both agree on every
// form it accepts and on the Location of the result.
func (p *scoredParser) time(dst *time.Time) bool {
	raw, escaped, ok := p.rawString()
	if !ok || escaped || len(raw) == 0 {
		return false
	}
	t, err := iso8601.Parse(unsafe.String(&raw[0], len(raw)))
	if err != nil {
		return false
	}
	*dst = t
	return true
}

func (p *scoredParser) bool(dst *bool) bool {
	switch {
	case p.lit(`true`):
		*dst = true
	case p.lit(`false`):
		*dst = false
	default:
		return false
	}
	return true
}

// number parses a JSON number (the grammar is checked here: strconv accepts more) into the
// float64 strconv.ParseFloat gives, as the strict decoder does; out of range declines.
func (p *scoredParser) number(dst *float64) bool {
	d, i := p.data, p.pos
	neg := i < len(d) && d[i] == '-'
	if neg {
		i++
	}
	var mant uint64
	var ndigits, frac int
	switch {
	case i < len(d) && d[i] == '0':
		i++
		ndigits = 1
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		j := i
		i, mant = digits(d, i, mant)
		ndigits = i - j
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		j := i + 1
		if i, mant = digits(d, j, mant); i == j {
			return false
		}
		frac = i - j
		ndigits += frac
	}
	exact := ndigits <= 15 // mant < 10^15 < 2^53: an exact float64, as is 10^frac
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		exact = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		if i, _ = digits(d, j, 0); i == j {
			return false
		}
	}
	if exact {
		// One correctly rounded division of exact values: the float64 nearest the number,
		// which is what ParseFloat returns too.
		f := float64(mant) / pow10[frac]
		if neg {
			f = -f
		}
		*dst = f
		p.pos = i
		return true
	}
	tok := d[p.pos:i]
	f, err := strconv.ParseFloat(unsafe.String(&tok[0], len(tok)), 64)
	if err != nil {
		return false
	}
	*dst = f
	p.pos = i
	return true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// digits returns the index of the first non-digit of d at or after i, and mant extended by the
// digits (it wraps past 19 digits, when the caller does not use it).
func digits(d []byte, i int, mant uint64) (int, uint64) {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		mant = mant*10 + uint64(d[i]-'0')
		i++
	}
	return i, mant
}
