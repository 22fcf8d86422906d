package scoring

import (
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

func TestRepetition(t *testing.T) {
	runCases(t, "repetition", event.KindMeasure, nil, []checkCase{
		{"english answer", out("Thanks for reaching out. The parcel left our warehouse on Monday and should arrive by Friday."), pass(0)},
		{"german answer", out("Die Lieferung verzögert sich wegen des Feiertags um einen Tag; Sie müssen nichts weiter tun."), pass(0)},
		{"japanese answer", out("東京は日本の首都です。人口は約1400万人で、世界有数の大都市です。"), pass(0)},
		{"case folded loop", out("I don't know. I DON'T KNOW. i don't know."), fail(4.0/7, "ngram_repeat")},
		{"german loop", out(strings.Repeat("Das Produkt ist gut. ", 5)), fail(14.0/18, "ngram_repeat")},
		{"japanese loop", out(strings.Repeat("すみません、", 6)), fail(23.0/28, "ngram_repeat")},
		{"word run", out("The answer is " + strings.Repeat("very ", 10) + "long, and it keeps going with different words after the run ends here."), fail(7.0/24, "word_run")},
		{"word run in short output", out(strings.Repeat("ha ", 12)), fail(0.9, "word_run")},
		{"char run", out("Hmm" + strings.Repeat("!", 40)), fail(0, "char_run")},
		{"char run in cjk", out("はい" + strings.Repeat("ー", 35)), fail(32.0/35, "char_run")},
		{"markdown table rules", out("| Name | Price |\n|------------------------------------|------------------------------------|\n| Basic plan | 9 EUR |"), pass(0)},
		{"box drawing and dot leaders", out("Chapter one ......................................... 5\n──────────────────────────────────────\nChapter two covers setup."), pass(0)},
		{"too short", out("Yes, sure thing."), skip},
		{"json output", jsonFormat(`[{"sku": "A-1", "qty": 2}, {"sku": "A-2", "qty": 2}, {"sku": "A-3", "qty": 2}]`), skip},
		{"structured output", structured(`{"tags": ["x", "x", "x", "x", "x", "x", "x", "x", "x"]}`), skip},
		{"error event", failed(out(strings.Repeat("la ", 20))), skip},
	})
}

func TestRepeatedTrigramShareJapaneseProse(t *testing.T) {
	// Japanese is split per character, so natural prose must stay well below the threshold.
	prose := "弊社の配送センターでは、ご注文いただいた商品を通常二営業日以内に発送しております。" +
		"ただし、年末年始や大型連休の期間中は、配送業者の混雑により、お届けまでに通常より時間がかかる場合がございます。" +
		"配送状況は、注文確認メールに記載された追跡番号から、いつでもご確認いただけます。" +
		"商品がお手元に届かない場合や、破損していた場合は、お手数ですがカスタマーサポートまでご連絡ください。"
	in := NewInput(out(prose))
	if got := repeatedTrigramShare(in, in.Output().Words()); got >= 0.15 {
		t.Errorf("repeatedTrigramShare(%q) = %.2f, want below 0.15", prose, got)
	}
}
