package store

import "strings"

// tokKind classifies the pieces of a DDL statement the cluster rewrite needs to tell apart.
type tokKind int

const (
	tokSpace  tokKind = iota // whitespace and comments
	tokWord                  // keyword or identifier, bare or back-quoted
	tokString                // '...' literal
	tokPunct                 // any other single character, or a run of digits
)

type token struct {
	kind tokKind
	text string
}

// upper is the word's text in upper case, for keyword comparison; other tokens give "".
func (t token) upper() string {
	if t.kind != tokWord {
		return ""
	}
	return strings.ToUpper(t.text)
}

// name is an identifier's value without back-quotes.
func (t token) name() string {
	if strings.HasPrefix(t.text, "`") && strings.HasSuffix(t.text, "`") && len(t.text) >= 2 {
		return strings.ReplaceAll(t.text[1:len(t.text)-1], "``", "`")
	}
	return t.text
}

// tokenize splits sql into tokens whose texts concatenate back to sql. It never fails: an
// unterminated string or quote runs to the end.
func tokenize(sql string) []token {
	var toks []token
	for i := 0; i < len(sql); {
		c := sql[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			for i < len(sql) && strings.IndexByte(" \t\n\r", sql[i]) >= 0 {
				i++
			}
			toks = append(toks, token{tokSpace, sql[start:i]})
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			toks = append(toks, token{tokSpace, sql[start:i]})
		case c == '\'' || c == '`' || c == '"':
			i++
			for i < len(sql) {
				if sql[i] == '\\' && c != '`' {
					i += 2
					continue
				}
				if sql[i] == c {
					if i+1 < len(sql) && sql[i+1] == c { // doubled quote
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
			i = min(i, len(sql))
			kind := tokString
			if c != '\'' {
				kind = tokWord
			}
			toks = append(toks, token{kind, sql[start:i]})
		case isWordStart(c):
			for i < len(sql) && isWordByte(sql[i]) {
				i++
			}
			toks = append(toks, token{tokWord, sql[start:i]})
		case c >= '0' && c <= '9':
			for i < len(sql) && (isWordByte(sql[i]) || sql[i] == '.') {
				i++
			}
			toks = append(toks, token{tokPunct, sql[start:i]})
		default:
			i++
			toks = append(toks, token{tokPunct, sql[start:i]})
		}
	}
	return toks
}

func isWordStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isWordByte(c byte) bool { return isWordStart(c) || (c >= '0' && c <= '9') }

// joinTokens concatenates token texts.
func joinTokens(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.text)
	}
	return b.String()
}

// significant drops whitespace and comments.
func significant(toks []token) []token {
	out := make([]token, 0, len(toks))
	for _, t := range toks {
		if t.kind != tokSpace {
			out = append(out, t)
		}
	}
	return out
}

// matchParen returns the index of the ")" that closes the "(" at toks[open], or -1.
func matchParen(toks []token, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		switch toks[i].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
