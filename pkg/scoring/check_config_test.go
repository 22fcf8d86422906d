package scoring

import (
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

func TestRegexMatch(t *testing.T) {
	label := Spec{Name: "regex_match", Params: Params{"pattern": `(?i)(positive|negative|neutral)`}}
	runSpec(t, label, event.KindCheck, nil, []checkCase{
		{"label", out("positive"), pass(1)},
		{"label with case and spaces", out("  Neutral\n"), pass(1)},
		{"label in a sentence", out("The sentiment is positive."), fail(0, "no_match")},
		{"partial word", out("positively"), fail(0, "no_match")},
		{"empty", out(""), fail(0, "no_match")},
		{"error event", failed(out("positive")), skip},
	})
	date := Spec{Name: "regex_match", Params: Params{"pattern": `\d{4}-\d{2}-\d{2}`, "trim": false}}
	runSpec(t, date, event.KindCheck, nil, []checkCase{
		{"date", out("2025-03-14"), pass(1)},
		{"date with newline, no trim", out("2025-03-14\n"), fail(0, "no_match")},
	})
	unicode := Spec{Name: "regex_match", Params: Params{"pattern": `\p{Han}+`}}
	runSpec(t, unicode, event.KindCheck, nil, []checkCase{
		{"chinese", out("北京"), pass(1)},
		{"japanese with kana", out("東京です"), fail(0, "no_match")},
	})
}

func TestContainsAny(t *testing.T) {
	spec := Spec{Name: "contains_any", Params: Params{"phrases": []any{"refund", "store credit", "{reembolso|devolución}", "返金"}}}
	runSpec(t, spec, event.KindCheck, nil, []checkCase{
		{"english", out("You will receive a full refund within five days."), pass(1)},
		{"case and punctuation", out("STORE-CREDIT is available."), pass(1)},
		{"spanish alternative", out("Le enviaremos el reembolso mañana."), pass(1)},
		{"japanese", out("返金は3日以内に行われます。"), pass(1)},
		{"whole words only", out("Refunds are not possible."), fail(0, "none_found")},
		{"none", out("Your parcel arrives on Friday."), fail(0, "none_found")},
		{"error event", failed(out("refund")), skip},
	})
}

func TestContainsAll(t *testing.T) {
	spec := Spec{Name: "contains_all", Params: Params{"phrases": []any{"order number", "delivery date", "tracking*"}}}
	runSpec(t, spec, event.KindCheck, nil, []checkCase{
		{"all", out("Your order number is 58213, the delivery date Friday; see the tracking page."), pass(1)},
		{"prefix form", out("Order number 1, delivery date today, tracked as well."), fail(0, "missing")},
		{"one missing", out("Your order number is 58213 and tracking is live."), fail(0, "missing")},
		{"none", out("Hallo!"), fail(0, "missing")},
	})
}

func TestBanList(t *testing.T) {
	spec := Spec{Name: "ban_list", Params: Params{"words": []any{"Acmecorp", "Globex Shipping", "café", "idiot", "scam", "竞争对手"}}}
	runSpec(t, spec, event.KindCheck, nil, []checkCase{
		{"exact", out("Acmecorp offers the same plan."), fail(1, "banned")},
		{"case", out("ACMECORP offers the same plan."), fail(1, "banned")},
		{"typo", out("Akmecorp offers the same plan."), fail(1, "banned")},
		{"plural", out("Both Acmecorps failed."), fail(1, "banned")},
		{"phrase with typo", out("We ship with globex shiping."), fail(1, "banned")},
		{"diacritics", out("Meet me at the CAFE."), fail(1, "banned")},
		{"nfd", out("Meet me at the cafe\u0301."), fail(1, "banned")},
		{"short word exact only", out("Those are not scams."), pass(0)},
		{"short word exact", out("This is a SCAM."), fail(1, "banned")},
		{"long word within one edit", out("You idiots."), fail(1, "banned")},
		{"chinese", out("我们比竞争对手更便宜。"), fail(1, "banned")},
		{"counts every hit", out("Acmecorp and Acmecorp again, plus Globex Shipping."), fail(3, "banned")},
		{"clean", out("Our plan includes free shipping."), pass(0)},
		{"two edits is too far", out("Akmecorb offers it."), pass(0)},
		{"error event", failed(out("Acmecorp")), skip},
	})
	strict := Spec{Name: "ban_list", Params: Params{"words": []any{"Acmecorp"}, "max_distance": 0.0}}
	runSpec(t, strict, event.KindCheck, nil, []checkCase{
		{"typo allowed no more", out("Akmecorp offers the same plan."), pass(0)},
	})
}

func TestWithinDistance(t *testing.T) {
	tests := []struct {
		a, b string
		d    int
		want bool
	}{
		{"kitten", "sitting", 3, true},
		{"kitten", "sitting", 2, false},
		{"flaw", "lawn", 2, true},
		{"", "abc", 3, true},
		{"東京都", "東京", 1, true},
		{"abc", "abc", 0, true},
	}
	for _, tt := range tests {
		if got := withinDistance([]rune(tt.a), []rune(tt.b), tt.d); got != tt.want {
			t.Errorf("withinDistance(%q, %q, %d) = %v, want %v", tt.a, tt.b, tt.d, got, tt.want)
		}
	}
}
