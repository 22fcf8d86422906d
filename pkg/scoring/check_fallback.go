package scoring

import "github.com/vigilhq/vigil/pkg/event"

func init() {
	RegisterInfo(Info{
		Name: "fallback", Kind: event.KindCheck,
		Description: "Is the output a generic non-answer: unsure, no information found, or a referral to support?",
		Applies:     "status is not error",
		Fails:       "a fallback phrase occurs (labels no_information, unsure, redirect, configured)",
		Params:      phraseParams,
	}, newFallback)
}

// newFallback builds the "fallback" check: did the model give a generic non-answer instead of
// answering? A rising rate usually means retrieval or tools stopped delivering what the model
// needs.
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: fail with value 1 when a phrase of one of the families below occurs as whole words in
// one sentence of the output (case, apostrophe style and Unicode normalisation ignored); label =
// the first matching family in this order, and the reason quotes the matched text. Otherwise pass
// with value 0.
//   - "no_information": "I don't have enough information", "I couldn't find any information",
//     "the provided context does not mention", "No tengo información", "情報がありません", ...
//   - "unsure": "I'm not sure", "I don't know", "no estoy seguro", "je ne sais pas", "ich weiß
//     nicht", "わかりません", "我不知道", ...
//   - "redirect": "please contact support", "reach out to customer service", "wenden Sie sich an
//     den Kundendienst", "请联系客服", ...
//   - "configured": the phrases parameter.
//
// A long, helpful answer that ends with "please contact support" counts too; teams whose answers
// routinely do so set builtin to false and list their own phrases.
// Parameters: phrases (strings, default none), builtin (boolean, default true: false keeps only
// the configured phrases).
func newFallback(_ Env, p Params) (Check, error) {
	return newDetector("fallback", fallbackFamilies, 3, nil, p)
}

// fallbackFamilies are the phrases of the fallback check, by label in the order they are reported.
var fallbackFamilies = []family{
	{label: "no_information", reason: "Output is a fallback answer (%s); check retrieval and whether the needed information reaches the model.", phrases: []string{
		"i {don't|do not} have {enough|sufficient|any|the|} {information|data|context|details}",
		"i {couldn't|could not|was unable to|wasn't able to|can't|cannot} find {any|} {relevant|specific|} {information|results|data|details}",
		"the {provided|given|} {context|document|documents|source|sources|text} {does|do} not {contain|mention|include|provide|say}",
		"no {relevant|} information {is|} available",
		"there is no information {about|on|regarding}",
		"no tengo {suficiente|la|esa|} información",
		"no {encontré|he encontrado|pude encontrar} {ninguna|} información",
		"je n'ai pas {assez|suffisamment|} {d'informations|d'information|informations|information}",
		"je ne dispose pas {de suffisamment d'informations|d'informations|des informations}",
		"ich habe keine {ausreichenden|genügend|weiteren|} {informationen|daten}",
		"liegen mir keine informationen",
		"não tenho {informações|informação} {suficientes|suficiente|}",
		"non ho {informazioni|abbastanza informazioni}",
		"у меня нет {информации|данных}",
		"{情報|データ} {が|は} {ありません|見つかりません}",
		"没有 {相关|} {信息|资料}",
		"정보가 없*",
	}},
	{label: "unsure", reason: "Output is an unsure non-answer (%s); check retrieval and whether the needed information reaches the model.", phrases: []string{
		"{i'm|i am} not {sure|certain}",
		"i {don't|do not} know",
		"no {estoy seguro|estoy segura|lo sé|sé}",
		"je ne {sais|suis} pas {sûr|sûre|certain|certaine|}",
		"ich {weiß|weiss} {es|das|} nicht",
		"ich bin mir nicht sicher",
		"{não sei|não tenho certeza}",
		"{non lo so|non sono sicuro|non sono sicura}",
		"я не {знаю|уверен|уверена}",
		"{わかりません|分かりません}",
		"我 {不知道|不确定}",
		"{모르겠습니다|모르겠어요|모르겠네요|모르겠다}",
	}},
	{label: "redirect", reason: "Output refers the user elsewhere (%s); check whether the assistant could have answered.", phrases: []string{
		"{please|} contact {our|the|} {support|customer support|customer service|support team|help desk|helpdesk|customer care}",
		"reach out to {our|the|} {support|customer support|customer service|support team|customer care}",
		"{contacte|contacta|comuníquese|póngase en contacto} con {el|nuestro|} {soporte|servicio de atención al cliente|equipo de soporte|atención al cliente}",
		"{contactez|contacter} {le|notre} {support|service client}",
		"{wenden sie sich|wende dich} an {den|unseren|das|unser} {support|kundendienst|kundenservice|support-team}",
		"kontaktieren sie {den|unseren} {support|kundendienst|kundenservice}",
		"{entre em contato|contate} com {o|nosso} {suporte|atendimento}",
		"{contatta|contattare} {il|il nostro} {supporto|servizio clienti}",
		"обратитесь в {службу поддержки|поддержку}",
		"{サポート|カスタマーサポート} {に|へ} お問い合わせ",
		"请联系 {我们的|} {客服|支持团队|技术支持}",
	}},
	{label: "configured", reason: "Output contains a configured fallback phrase (%s); check retrieval and whether the needed information reaches the model."},
}
