package scoring

import (
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

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
		{"at maximum", out(strings.Repeat("a", 8000)), pass(8000)},
		{"over maximum", out(strings.Repeat("ü", 8001)), fail(8001, "too_long")},
		{"empty", out(""), fail(0, "too_short")},
		{"error event", failed(out("")), skip},
	})
	runSpec(t, Spec{Name: "length_chars", Params: Params{"min": 20.0, "max": 0.0}}, event.KindMeasure, nil, []checkCase{
		{"under min", out("Ja."), fail(3, "too_short")},
		{"no maximum", out(strings.Repeat("Нет. ", 3000)), pass(15000)},
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
		{"chinese per character", out("我们明天发货。"), pass(6)},
		{"mixed script", out("iPhone 15の価格は999ドルです"), pass(11)},
		{"markdown list", out("- **Step 1:** run `make test`\n- Step 2: done"), pass(8)},
		{"punctuation only", out("!!! ??? ..."), fail(0, "no_words")},
		{"emoji only", out("😀🎉"), fail(0, "no_words")},
		{"empty", out(""), fail(0, "no_words")},
		{"error event", failed(out("")), skip},
	})
	runSpec(t, Spec{Name: "word_count", Params: Params{"min": 3.0, "max": 5.0}}, event.KindMeasure, nil, []checkCase{
		{"too few", out("Ja, klar."), fail(2, "too_few")},
		{"in range", out("Oui, c'est bien ça."), pass(4)},
		{"too many", out("The answer has rather more words than wanted."), fail(8, "too_many")},
	})
}

func TestSentenceCount(t *testing.T) {
	runCases(t, "sentence_count", event.KindMeasure, nil, []checkCase{
		{"english", out("Your parcel left Rotterdam on Monday. It arrives on Friday! Anything else?"), pass(3)},
		{"abbreviations and decimals", out("Dr. Smith measured 3.5 kg, i.e. more than expected."), pass(1)},
		{"german", out("Ihre Bestellung ist unterwegs. Sie kommt am Freitag an."), pass(2)},
		{"spanish", out("¿Dónde está mi pedido? Llega mañana."), pass(2)},
		{"japanese", out("ご注文ありがとうございます。明日発送します。"), pass(2)},
		{"chinese", out("您的订单已发货！预计周五送达。"), pass(2)},
		{"russian", out("Заказ отправлен. Доставка в пятницу."), pass(2)},
		{"markdown list", out("Next steps:\n1. Open the tracking page\n2. Choose a pickup point\n3. Confirm"), pass(4)},
		{"no terminator", out("ok"), pass(1)},
		{"no words", out("..."), skip},
		{"error event", failed(out("Hi.")), skip},
	})
	runSpec(t, Spec{Name: "sentence_count", Params: Params{"min": 2.0, "max": 3.0}}, event.KindMeasure, nil, []checkCase{
		{"too few", out("One sentence only."), fail(1, "too_few")},
		{"too many", out("One. Two. Three. Four."), fail(4, "too_many")},
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
	runSpec(t, Spec{Name: "truncated", Params: Params{"reasons": []any{"LENGTH", "content_filter"}}}, event.KindCheck, nil, []checkCase{
		{"configured reason", fr("content_filter"), fail(1, "content_filter")},
		{"configured in other case", fr("length"), fail(1, "length")},
		{"no longer listed", fr("max_tokens"), pass(0)},
	})
}

func TestShouting(t *testing.T) {
	runCases(t, "shouting", event.KindMeasure, nil, []checkCase{
		{"calm english", out("Your order is on its way and should arrive on Friday."), about(pass(0.048))},
		{"acronyms", out("Use the AWS SDK for Go to call the S3 API over HTTPS from your EC2 instance."), about(pass(0.333))},
		{"shouting", out("THIS IS THE FINAL WARNING, PAY NOW OR LOSE ACCESS"), fail(1, "uppercase")},
		{"german shouting", out("ACHTUNG: IHR KONTO WIRD MORGEN GESPERRT!"), fail(1, "uppercase")},
		{"russian shouting", out("ВНИМАНИЕ! ВАШ ЗАКАЗ ОТМЕНЁН НАВСЕГДА"), fail(1, "uppercase")},
		{"exclamations", out("We have great news for you today!!! Your upgrade is free!"), about(fail(0.05, "exclamation"))},
		{"full-width exclamations", out("Great news for everyone who ordered today！！！"), about(fail(0.029, "exclamation"))},
		{"two exclamations pass", out("We have great news for you today!! Really."), about(pass(0.06))},
		{"too few letters", out("OK!!!"), skip},
		{"japanese has no case", out("本日は誠にありがとうございました！！！これからもよろしくお願いします。"), skip},
		{"error event", failed(out("HELLO THERE EVERYBODY AND ALL")), skip},
	})
	runSpec(t, Spec{Name: "shouting", Params: Params{"max_bangs": 0.0, "max_upper_share": 0.2}}, event.KindMeasure, nil, []checkCase{
		{"bangs off", out("We have great news for you today!!! Your upgrade is free!"), about(pass(0.05))},
		{"lower threshold", out("Use the AWS SDK for Go to call the S3 API over HTTPS from your EC2 instance."), about(fail(0.333, "uppercase"))},
	})
}

func TestTokenEntropy(t *testing.T) {
	loop := strings.Repeat("I am sorry, I cannot do that. ", 12)
	runCases(t, "token_entropy", event.KindMeasure, nil, []checkCase{
		{"single word", out("Yes."), pass(0)},
		{"two distinct words", out("Yes, sure."), pass(1)},
		{"four equal words", out("ha ha ha ha"), pass(0)},
		{"english answer", out(benchmarkText), about(pass(6.77))},
		{"looping answer", out(loop), about(fail(2.52, "low_entropy"))},
		{"looping german", out(strings.Repeat("Das geht leider nicht. ", 15)), about(fail(2, "low_entropy"))},
		{"short loop passes", out(strings.Repeat("no ", 20)), pass(0)},
		{"json output", jsonFormat(`{"a": [1, 1, 1, 1]}`), skip},
		{"no words", out("!!!"), skip},
		{"error event", failed(out("x")), skip},
	})
	runSpec(t, Spec{Name: "token_entropy", Threshold: ptr(1.0), Params: Params{"min_words": 10.0}}, event.KindMeasure, nil, []checkCase{
		{"short loop fails", out(strings.Repeat("no ", 20)), fail(0, "low_entropy")},
		{"loop above the lower floor", out(loop), about(pass(2.52))},
	})
}

func ptr[T any](v T) *T { return &v }

func TestReadability(t *testing.T) {
	plain := "The cat sat on the mat. It was a warm day. The sun was out and the sky was blue. We went for a walk in the park and had a nice time."
	hard := strings.Repeat("Notwithstanding the aforementioned considerations, the implementation of comprehensive organizational restructuring necessitates extraordinarily meticulous deliberation regarding interdepartmental communication infrastructures and institutional accountability mechanisms. ", 2)
	runCases(t, "readability", event.KindMeasure, nil, []checkCase{
		{"plain english", out(plain), about(pass(113.86))},
		{"support answer", out(benchmarkText), about(pass(63.41))},
		{"academic english", out(hard), about(fail(-161.59, "hard_to_read"))},
		{"too short", out("The cat sat on the mat."), skip},
		{"russian is not latin", out(strings.Repeat("Ваш заказ отправлен сегодня утром. ", 8)), skip},
		{"japanese is not latin", out(strings.Repeat("ご注文の商品は本日発送しました。", 5)), skip},
		{"json output", jsonFormat(`{"text": "` + plain + `"}`), skip},
		{"error event", failed(out(plain)), skip},
	})
}

func TestSyllables(t *testing.T) {
	for w, want := range map[string]int{
		"cat": 1, "make": 1, "table": 2, "free": 1, "walked": 1, "wanted": 2, "agreed": 2,
		"beautiful": 3, "readability": 5, "I": 1, "rhythm": 1, "naïve": 2, "café": 2,
	} {
		if got := syllables(w, isASCII(w)); got != want {
			t.Errorf("syllables(%q) = %d, want %d", w, got, want)
		}
	}
}

func TestLinks(t *testing.T) {
	runCases(t, "links", event.KindMeasure, nil, []checkCase{
		{"no links", out("See the tracking page in your account."), pass(0)},
		{"two links", out("See https://docs.example.com/setup and http://status.example.com."), pass(2)},
		{"markdown link and www", out("Read [the guide](https://example.org/guide) or visit www.example.org today."), pass(2)},
		{"upper-case scheme", out("Open HTTPS://EXAMPLE.COM/path."), pass(1)},
		{"other schemes ignored", out("Use ftp://files.example.com or mailto:help@example.com."), pass(0)},
		{"idn host", out("Besuchen Sie https://bücher.de/angebote."), pass(1)},
		{"error event", failed(out("https://example.com")), skip},
	})
	allow := Spec{Name: "links", Params: Params{"allow": []any{"example.com", ".Acme.io"}}}
	runSpec(t, allow, event.KindMeasure, nil, []checkCase{
		{"allowed and subdomain", out("See https://example.com/a and https://docs.acme.io/b."), pass(2)},
		{"outside allow list", out("See https://example.com and https://evil-example.com/login."), fail(2, "disallowed_domain")},
		{"lookalike suffix", out("Go to https://notexample.com now."), fail(1, "disallowed_domain")},
		{"user info", out("Go to https://example.com@phish.net/x now."), fail(1, "disallowed_domain")},
		{"www link", out("Visit www.competitor.net today."), fail(1, "disallowed_domain")},
	})
}
