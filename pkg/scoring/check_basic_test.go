package scoring

import (
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

func failed(ev *event.Event) *event.Event {
	return with(ev, func(e *event.Event) { e.Status, e.Error = event.StatusError, "context deadline exceeded" })
}

func TestNonEmpty(t *testing.T) {
	runCases(t, "non_empty", event.KindCheck, nil, []checkCase{
		{"english answer", out("Your refund was issued today and should appear within 5 business days."), pass(1)},
		{"japanese answer", out("はい、承知しました。"), pass(1)},
		{"emoji only", out("👍"), pass(1)},
		{"status unset", with(out("ok"), func(e *event.Event) { e.Status = "" }), pass(1)},
		{"empty", out(""), fail(0, "empty")},
		{"whitespace", out("  \n\t \r\n"), fail(0, "whitespace_only")},
		{"zero width and BOM", out("\u200b\ufeff\u00a0"), fail(0, "whitespace_only")},
		{"error event", failed(out("")), skip},
	})
}

func TestLengthChars(t *testing.T) {
	runCases(t, "length_chars", event.KindMeasure, nil, []checkCase{
		{"german", out("Hallo Welt"), pass(10)},
		{"japanese counts runes not bytes", out("東京は日本の首都です。"), pass(11)},
		{"emoji with skin tone", out("👍🏽"), pass(2)},
		{"at maximum", out(strings.Repeat("a", defaultMaxChars)), pass(defaultMaxChars)},
		{"over maximum", out(strings.Repeat("ü", defaultMaxChars+1)), fail(defaultMaxChars+1, "too_long")},
		{"empty", out(""), fail(0, "too_short")},
		{"error event", failed(out("")), skip},
	})
}

func TestWordCount(t *testing.T) {
	runCases(t, "word_count", event.KindMeasure, nil, []checkCase{
		{"english", out("The quick brown fox jumps over the lazy dog."), pass(9)},
		{"english contractions", out("Don't worry, it's fixed."), pass(4)},
		{"german with date", out("Die Bestellung wurde am 12. März versandt."), pass(7)},
		{"spanish", out("¿Dónde está la estación de tren?"), pass(6)},
		{"french elision", out("Aujourd'hui, c'est l'été."), pass(3)},
		{"russian", out("Привет, как дела?"), pass(3)},
		{"hindi combining marks", out("नमस्ते दुनिया"), pass(2)},
		{"korean", out("안녕하세요 세계"), pass(2)},
		{"japanese per character", out("東京は日本の首都です。"), pass(10)},
		{"mixed script", out("iPhone 15の価格は999ドルです"), pass(11)},
		{"markdown list", out("- **Step 1:** run `make test`\n- Step 2: done"), pass(8)},
		{"punctuation only", out("!!! ??? ..."), fail(0, "no_words")},
		{"emoji only", out("😀🎉"), fail(0, "no_words")},
		{"empty", out(""), fail(0, "no_words")},
		{"error event", failed(out("")), skip},
	})
}

func TestTruncated(t *testing.T) {
	fr := func(reason string) *event.Event {
		return with(out("The three main causes were"), func(e *event.Event) { e.FinishReason = reason })
	}
	runCases(t, "truncated", event.KindCheck, nil, []checkCase{
		{"openai stop", fr("stop"), pass(0)},
		{"anthropic end_turn", fr("end_turn"), pass(0)},
		{"gemini STOP", fr("STOP"), pass(0)},
		{"content filter", fr("content_filter"), pass(0)},
		{"openai length", fr("length"), fail(1, "length")},
		{"anthropic max_tokens", fr("max_tokens"), fail(1, "max_tokens")},
		{"gemini MAX_TOKENS", fr("MAX_TOKENS"), fail(1, "max_tokens")},
		{"responses max_output_tokens", fr("max_output_tokens"), fail(1, "max_output_tokens")},
		{"unset", fr(""), skip},
	})
}
