package scoring

import (
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

func TestRefusal(t *testing.T) {
	refused := fail(1, "refusal")
	runCases(t, "refusal", event.KindCheck, nil, []checkCase{
		// Refusals.
		{"en sorry but", out("I'm sorry, but I can't help with that request."), refused},
		{"en curly apostrophe", out("I’m sorry, but I can’t provide instructions for bypassing the lock."), refused},
		{"en cannot assist", out("I cannot assist with creating malware or other harmful software."), refused},
		{"en unable", out("I am unable to access your account details. Please contact support."), refused},
		{"en must decline", out("I must respectfully decline to write that review."), refused},
		{"es", out("Lo siento, no puedo ayudarte con esa solicitud."), refused},
		{"es no puedo", out("No puedo proporcionar asesoramiento médico específico."), refused},
		{"fr", out("Je ne peux pas répondre à cette question."), refused},
		{"de inner object", out("Es tut mir leid, aber ich kann Ihnen bei dieser Anfrage nicht helfen."), refused},
		{"de ich kann nicht", out("Ich kann nicht auf das Internet zugreifen."), refused},
		{"pt", out("Desculpe, mas não posso ajudar com isso."), refused},
		{"it", out("Mi dispiace, ma non posso fornire queste informazioni."), refused},
		{"ja", out("申し訳ありませんが、そのご質問にはお答えできません。"), refused},
		{"zh", out("抱歉，我无法提供这方面的信息。"), refused},
		{"ko", out("죄송하지만 그 요청은 도와드릴 수 없습니다."), refused},
		// Other families.
		{"en policy", out("This request goes against my guidelines, so I won't continue."), fail(1, "policy")},
		{"en content policy", out("Generating this image would violate our content policy."), fail(1, "policy")},
		{"es policy", out("Esa solicitud va en contra de mis directrices."), fail(1, "policy")},
		{"en ai disclaimer", out("As an AI language model, I don't have personal opinions, but here are some perspectives."), fail(1, "ai_disclaimer")},
		{"es ai disclaimer", out("Como modelo de lenguaje, no tengo opiniones personales."), fail(1, "ai_disclaimer")},
		{"de ai disclaimer", out("Als KI-Sprachmodell habe ich keine Gefühle."), fail(1, "ai_disclaimer")},
		{"ja ai disclaimer", out("AI言語モデルとして、個人的な意見はありません。"), fail(1, "ai_disclaimer")},
		{"en fallback", out("I don't have enough information in the provided documents to answer that."), fail(1, "fallback")},
		{"en rag fallback", out("The provided context does not mention the refund window for digital goods."), fail(1, "fallback")},
		{"es fallback", out("No tengo información suficiente para responder a tu pregunta."), fail(1, "fallback")},
		{"fr fallback", out("Je n'ai pas d'informations sur ce produit."), fail(1, "fallback")},
		{"de fallback", out("Dazu habe ich leider keine Daten. Ich habe keine Informationen zu diesem Tarif."), fail(1, "fallback")},
		{"ja fallback", out("資料にはその情報がありません。"), fail(1, "fallback")},
		{"refusal wins over disclaimer", out("As an AI language model, I cannot help with that."), refused},
		// Answers.
		{"en code answer", out("Here's a Python function that reverses a string:\n\n```python\ndef reverse(s):\n    return s[::-1]\n```"), pass(0)},
		{"en can help", out("I can help with that! Here are three options for your trip to Lisbon."), pass(0)},
		{"en can't without I", out("You can't go wrong with the classic margherita."), pass(0)},
		{"en third person cannot", out("If the API is unavailable, the client cannot assist the user until it reconnects."), pass(0)},
		{"es answer", out("Claro, puedo ayudarte con eso. El vuelo sale a las 9:40."), pass(0)},
		{"fr answer", out("Je peux vous aider : le colis arrivera jeudi."), pass(0)},
		{"de answer", out("Ich kann Ihnen gerne helfen: Die Lieferung dauert drei Werktage."), pass(0)},
		{"ja answer", out("はい、お手伝いできます。東京駅から新幹線で約2時間です。"), pass(0)},
		{"zh answer", out("当然可以，我来帮助你规划行程。"), pass(0)},
		{"error event", failed(out("")), skip},
	})
}

// TestRefusalPhrasesFolded makes sure every pattern can match folded text.
func TestRefusalPhrasesFolded(t *testing.T) {
	for _, f := range refusalFamilies {
		for _, pat := range f.patterns {
			if pat != strings.Map(foldPhrase, pat) {
				t.Errorf("%s phrase %q is not folded (lower case, ASCII apostrophes)", f.label, pat)
			}
		}
	}
}
