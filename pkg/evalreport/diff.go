package evalreport

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// OpKind says what a diff operation does to the old text.
type OpKind int

// The operations of a word diff.
const (
	Equal  OpKind = iota // text both sides share
	Delete               // text only the old side has
	Insert               // text only the new side has
)

// Op is one run of a word diff: adjacent operations never share a kind.
type Op struct {
	Kind OpKind
	Text string
}

// maxCells bounds the LCS table of one comparison (units of the old side times units of the new
// side): outputs are untrusted and may be long. Past it, the texts are compared sentence by
// sentence (and line by line) first, then word by word inside the sentences that changed; a part
// still too large is shown as one deletion and one insertion.
var maxCells = 1 << 20 // a variable so tests can reach the sentence path with small inputs

// WordDiff compares two texts word by word and returns the operations that turn old into new.
// Words are runs of non-space characters; a run of white space is a token of its own, so the
// Equal and Delete texts concatenate to old and the Equal and Insert texts to new, byte for byte.
// Invalid UTF-8 is kept as is. Time and memory are bounded by maxCells per comparison.
func WordDiff(old, new string) []Op {
	var d differ
	d.middle(tokens(old), tokens(new))
	ops := make([]Op, len(d.ops))
	for i, p := range d.ops {
		ops[i] = Op{Kind: p.kind, Text: strings.Join(p.parts, "")}
	}
	return coalesce(ops)
}

// differ collects the operations of a diff; each keeps its tokens until the end, so building a
// long run costs linear time.
type differ struct{ ops []pending }

type pending struct {
	kind  OpKind
	parts []string
}

func (d *differ) add(kind OpKind, toks ...string) {
	if len(toks) == 0 {
		return
	}
	if n := len(d.ops); n > 0 && d.ops[n-1].kind == kind {
		d.ops[n-1].parts = append(d.ops[n-1].parts, toks...)
		return
	}
	d.ops = append(d.ops, pending{kind: kind, parts: slices.Clone(toks)})
}

// middle diffs two token lists: the shared prefix and suffix are cut first, then the rest is
// aligned word by word, or sentence by sentence when that would take too much memory.
func (d *differ) middle(a, b []string) {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	d.add(Equal, a[:pre]...)
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	switch {
	case len(ma) == 0 || len(mb) == 0:
		d.add(Delete, ma...)
		d.add(Insert, mb...)
	case len(ma)*len(mb) <= maxCells:
		for _, st := range align(ma, mb) {
			switch st.kind {
			case Equal:
				d.add(Equal, ma[st.i])
			case Delete:
				d.add(Delete, ma[st.i])
			default:
				d.add(Insert, mb[st.j])
			}
		}
	default:
		d.bySentence(ma, mb)
	}
	d.add(Equal, a[len(a)-suf:]...)
}

// bySentence aligns whole sentences (and lines), then diffs the changed stretches word by word.
func (d *differ) bySentence(a, b []string) {
	ca, cb := sentences(a), sentences(b)
	ka, kb := make([]string, len(ca)), make([]string, len(cb))
	for i, c := range ca {
		ka[i] = strings.Join(c, "")
	}
	for i, c := range cb {
		kb[i] = strings.Join(c, "")
	}
	var steps []step
	if len(ka)*len(kb) <= maxCells {
		steps = align(ka, kb)
	}
	if !slices.ContainsFunc(steps, func(s step) bool { return s.kind == Equal }) {
		// Nothing in common to anchor on: recursing would not make the parts smaller.
		d.add(Delete, a...)
		d.add(Insert, b...)
		return
	}
	var del, ins []string
	for _, st := range steps {
		switch st.kind {
		case Delete:
			del = append(del, ca[st.i]...)
		case Insert:
			ins = append(ins, cb[st.j]...)
		default:
			if len(del)+len(ins) > 0 {
				d.middle(del, ins)
				del, ins = nil, nil
			}
			d.add(Equal, ca[st.i]...)
		}
	}
	if len(del)+len(ins) > 0 {
		d.middle(del, ins)
	}
}

// sentences groups tokens into sentences: a group ends after white space that holds a line
// break, or after the white space that follows a word ending in . ! or ?.
func sentences(toks []string) [][]string {
	var out [][]string
	start := 0
	for i, t := range toks {
		if strings.TrimSpace(t) != "" || i == 0 {
			continue
		}
		prev := toks[i-1]
		if strings.ContainsAny(t, "\n\r") || strings.HasSuffix(prev, ".") || strings.HasSuffix(prev, "!") || strings.HasSuffix(prev, "?") {
			out = append(out, toks[start:i+1])
			start = i + 1
		}
	}
	if start < len(toks) {
		out = append(out, toks[start:])
	}
	return out
}

// step is one move of an alignment: Equal (x[i] = y[j]), Delete (x[i]) or Insert (y[j]).
type step struct {
	kind OpKind
	i, j int
}

// align returns the moves of a longest common subsequence of x and y. It takes
// len(x)*len(y) time and memory; callers bound that product.
func align[T comparable](x, y []T) []step {
	// lcs[i*w+j] is the LCS length of x[i:] and y[j:].
	w := len(y) + 1
	lcs := make([]int32, (len(x)+1)*w)
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	steps := make([]step, 0, max(len(x), len(y)))
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		switch {
		case x[i] == y[j]:
			steps = append(steps, step{Equal, i, j})
			i++
			j++
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			steps = append(steps, step{Delete, i, j})
			i++
		default:
			steps = append(steps, step{Insert, i, j})
			j++
		}
	}
	for ; i < len(x); i++ {
		steps = append(steps, step{Delete, i, j})
	}
	for ; j < len(y); j++ {
		steps = append(steps, step{Insert, i, j})
	}
	return steps
}

// tokens splits s into alternating runs of white space and of other characters.
func tokens(s string) []string {
	var out []string
	start := 0
	prevSpace := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		space := r != utf8.RuneError && unicode.IsSpace(r)
		if i > start && space != prevSpace {
			out = append(out, s[start:i])
			start = i
		}
		prevSpace = space
		i += size
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// coalesce folds white space that the two sides share only by chance (a lone space between two
// changed words) into the change around it, and merges each run of changes into one deletion
// followed by one insertion, so a rewritten sentence reads as one change, not word confetti.
func coalesce(ops []Op) []Op {
	out := make([]Op, 0, len(ops))
	var del, ins strings.Builder
	flush := func() {
		if del.Len() > 0 {
			out = append(out, Op{Kind: Delete, Text: del.String()})
		}
		if ins.Len() > 0 {
			out = append(out, Op{Kind: Insert, Text: ins.String()})
		}
		del.Reset()
		ins.Reset()
	}
	for i, op := range ops {
		switch {
		case op.Kind == Delete:
			del.WriteString(op.Text)
		case op.Kind == Insert:
			ins.WriteString(op.Text)
		case i > 0 && i < len(ops)-1 && strings.TrimSpace(op.Text) == "":
			// Equal white space between two changes: part of the change on both sides.
			del.WriteString(op.Text)
			ins.WriteString(op.Text)
		default:
			flush()
			out = append(out, op)
		}
	}
	flush()
	return out
}
