package judge

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestParseAnswer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply string
		want  Answer
		err   string // part of the *MalformedError's reason; "" means success
	}{
		{name: "plain", reply: `{"label":"good","score":0.8,"explanation":"Answers the question."}`,
			want: Answer{Label: "good", Score: 0.8, Explanation: "Answers the question."}},
		{name: "fenced", reply: "```json\n{\"label\": \"bad\", \"score\": 0.1, \"explanation\": \"Off topic.\"}\n```",
			want: Answer{Label: "bad", Score: 0.1, Explanation: "Off topic."}},
		{name: "fence without tag", reply: "```\n{\"score\": 1}\n```", want: Answer{Score: 1}},
		{name: "fence on one line", reply: "```{\"score\": 0.5}```", want: Answer{Score: 0.5}},
		{name: "prose around", reply: "Here is my verdict: {\"label\":\"ok\",\"score\":0.6,\"explanation\":\"Fine.\"} Hope this helps.",
			want: Answer{Label: "ok", Score: 0.6, Explanation: "Fine."}},
		{name: "brace in prose first", reply: "Scores use {0..1}. {\"score\": 0.4, \"label\": \"meh\"}",
			want: Answer{Label: "meh", Score: 0.4}},
		{name: "keys in another case", reply: `{"Label":"good","Score":0.9,"Explanation":"Yes."}`,
			want: Answer{Label: "good", Score: 0.9, Explanation: "Yes."}},
		{name: "score as string", reply: `{"score":" 0.75 ","label":"good"}`, want: Answer{Label: "good", Score: 0.75}},
		{name: "integer score", reply: `{"score":0}`, want: Answer{Score: 0}},
		{name: "float noise above one clamped", reply: `{"score":1.0000001}`, want: Answer{Score: 1}},
		{name: "float noise below zero clamped", reply: `{"score":-0.0000001}`, want: Answer{Score: 0}},
		{name: "reason stands in for explanation", reply: `{"score":0.3,"reason":"Too long."}`, want: Answer{Score: 0.3, Explanation: "Too long."}},
		{name: "label as boolean", reply: `{"score":0.3,"label":false}`, want: Answer{Score: 0.3, Label: "false"}},
		{name: "label collapsed to one line", reply: `{"score":0.3,"label":"  not\n good  "}`, want: Answer{Score: 0.3, Label: "not good"}},
		{name: "null explanation", reply: `{"score":0.2,"explanation":null}`, want: Answer{Score: 0.2}},

		{name: "empty", reply: "  \n", err: "empty answer"},
		{name: "prose only", reply: "The answer is good, I would say 0.8.", err: "no JSON object"},
		{name: "truncated JSON", reply: `{"label":"good","score":0.8,"expla`, err: "no JSON object"},
		{name: "object in an array", reply: `[{"score":0.5}]`, want: Answer{Score: 0.5}},
		{name: "no score", reply: `{"label":"good","explanation":"Fine."}`, err: "no score"},
		{name: "null score", reply: `{"score":null}`, err: "no score"},
		{name: "score above one", reply: `{"score":8,"label":"good"}`, err: "score 8 outside 0..1"},
		{name: "score on a 100 scale", reply: `{"score":85}`, err: "outside 0..1"},
		{name: "negative score", reply: `{"score":-0.5}`, err: "outside 0..1"},
		{name: "score word", reply: `{"score":"high"}`, err: "score is not a number"},
		{name: "score NaN string", reply: `{"score":"NaN"}`, err: "not a finite number"},
		{name: "score huge", reply: `{"score":1e999}`, err: "not a finite number"},
		{name: "score boolean", reply: `{"score":true}`, err: "score is not a number"},
		{name: "score object", reply: `{"score":{"value":0.5}}`, err: "score is not a number"},
		{name: "label object", reply: `{"score":0.5,"label":{"x":1}}`, err: "label is not a string"},
	} {
		got, err := ParseAnswer(tc.reply)
		if tc.err != "" {
			var mal *MalformedError
			if !errors.As(err, &mal) || !strings.Contains(mal.Reason, tc.err) {
				t.Errorf("%s: ParseAnswer(%q) = %+v, %v, want a *MalformedError containing %q", tc.name, tc.reply, got, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: ParseAnswer(%q) = %v, want %+v", tc.name, tc.reply, err, tc.want)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: ParseAnswer(%q) (-want +got):\n%s", tc.name, tc.reply, diff)
		}
	}
}

func TestParseAnswerReasonQuotesNothing(t *testing.T) {
	secret := "my card number is 4111 1111 1111 1111"
	for _, reply := range []string{secret, `{"score":"` + secret + `"}`, `{"label":"x","score":42,"explanation":"` + secret + `"}`} {
		_, err := ParseAnswer(reply)
		if err == nil || strings.Contains(err.Error(), "4111") {
			t.Errorf("ParseAnswer(%q) = %v, want an error that does not quote the answer", reply, err)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"abcdef", 4, "abc…"},
		{"héllo wörld", 5, "héll…"},
	} {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// FuzzParseAnswer checks that no reply panics the parser, that every accepted score is a finite
// number in [0, 1] with a short one-line label, and that a plain JSON object the standard decoder
// reads with a numeric score in range is accepted with that score.
func FuzzParseAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"label":"good","score":0.8,"explanation":"Answers the question."}`,
		"```json\n{\"label\": \"bad\", \"score\": 0.1, \"explanation\": \"Off topic.\"}\n```",
		`Verdict: {"score": "0.5"} done`,
		`{"score": 1e-7, "label": "\u00e9\n"}`,
		`{"score": 7}`,
		`{"score": "NaN"}`,
		`{{{{`,
		"```",
		`{"SCORE": 0.3, "Reason": "x"}`,
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		a, err := ParseAnswer(reply)
		if err != nil {
			var mal *MalformedError
			if !errors.As(err, &mal) {
				t.Fatalf("ParseAnswer(%q) = %v, want a *MalformedError", reply, err)
			}
			return
		}
		if math.IsNaN(a.Score) || a.Score < 0 || a.Score > 1 {
			t.Fatalf("ParseAnswer(%q).Score = %v, want a number in [0, 1]", reply, a.Score)
		}
		if utf8.RuneCountInString(a.Label) > maxLabelRunes || strings.ContainsAny(a.Label, "\n\r\t") {
			t.Fatalf("ParseAnswer(%q).Label = %q, want one line of at most %d runes", reply, a.Label, maxLabelRunes)
		}

		var std map[string]any
		if json.Unmarshal([]byte(reply), &std) != nil || std == nil {
			return
		}
		v, isNumber := std["score"].(float64)
		if !isNumber || v < 0 || v > 1 || len(std) != 1 {
			return
		}
		if a.Score != v {
			t.Fatalf("ParseAnswer(%q).Score = %v, encoding/json reads %v", reply, a.Score, v)
		}
	})
}
