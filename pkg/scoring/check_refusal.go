package scoring

import "github.com/vigilhq/vigil/pkg/event"

func init() {
	RegisterInfo(Info{
		Name: "refusal", Kind: event.KindCheck,
		Description: "Did the model decline, cite a usage policy or disclaim being an AI instead of answering?",
		Applies:     "status is not error",
		Fails:       "a policy, refusal or AI-disclaimer phrase occurs (labels policy, refusal, ai_disclaimer)",
		Params:      phraseParams,
	}, newRefusal)
}

// newRefusal builds the "refusal" check: did the model decline, cite a policy or disclaim instead of answering?
// Non-answers that are not refusals ("I don't know", "please contact support") are the fallback
// check's.
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: fail with value 1 when a phrase of one of the families below occurs as whole words in
// one sentence of the output (case, apostrophe style and Unicode normalisation ignored); label =
// the first matching family in this order, and the reason quotes the matched text. Otherwise
// pass with value 0.
//   - "policy": "against my guidelines", "violates our content policy", "I'm not allowed to", ...
//   - "refusal": "I can't help with", "I cannot assist", "I'm sorry, but I can't", "I am unable
//     to", "Lo siento, no puedo", "Je ne peux pas", "Ich kann nicht", "お答えできません", ...
//   - "ai_disclaimer": "As an AI language model", "como modelo de lenguaje", "AI言語モデルとして", ...
//
// English, Spanish, French, German, Portuguese, Italian, Japanese, Chinese and Korean phrases are
// listed.
// Parameters: phrases (strings, default none: more phrases, reported as "refusal"), builtin
// (boolean, default true: false keeps only the configured phrases).
func newRefusal(_ Env, p Params) (Check, error) {
	return newDetector("refusal", refusalFamilies, 1, nil, p)
}

// refusalFamilies are the phrases of the refusal check, by label in the order they are reported.
var refusalFamilies = []family{
	{label: "policy", reason: "Output cites a usage policy (%s); check whether inputs trip the provider's safety filters.", phrases: []string{
		"against {my|the|our|openai's|anthropic's} {usage|content|safety|} {guidelines|policy|policies|terms of use|terms of service|programming}",
		"{violate|violates|violating|violated|violation of} {my|the|our|openai's|anthropic's} {usage|content|safety|} {guidelines|policy|policies|terms of use|terms of service}",
		"{i'm|i am} not {allowed|permitted} to",
		"va en contra de {mis|las|nuestras} {directrices|políticas|normas}",
		"viola {mis|las|nuestras} {directrices|políticas|normas}",
		"contraire à {mes|nos|les} {directives|règles|politiques}",
		"enfreint {mes|nos|les} {directives|règles|politiques}",
		"verstößt gegen {meine|unsere|die} ~1 richtlinien",
	}},
	{label: "refusal", reason: "Output declines the request (%s); review which prompts and inputs trigger refusals.", phrases: []string{
		// English
		"i {can't|cant|cannot|can not|won't|will not} {help|assist|comply|fulfil|fulfill|provide|support|answer|do that|engage|generate|create|write|share|give|continue|discuss}",
		"{i'm|i am} {unable|not able} to",
		"sorry {but|} i {can't|cannot|can not|won't|will not|am unable|'m unable|am not able|'m not able}",
		"sorry {but|} {i'm|im} {unable|not able}",
		"i {apologise|apologize} {but|} {i can't|i cannot|i can not|i won't|i will not|i am unable|i'm unable|i am not able|i'm not able}",
		"i {must|have to} {respectfully|} {decline|refuse}",
		// Spanish
		"lo siento {pero|} no {puedo|me es posible}",
		"no puedo {ayudar*|asistir*|proporcionar*|responder*|cumplir*|hacer eso|generar*|crear*|ofrecer*}",
		// French
		"je ne {peux|pourrai} pas",
		"je ne suis pas en mesure {de|d'*}",
		// German
		"ich kann nicht",
		"ich kann ~4 nicht {helfen|behilflich|weiterhelfen|beantworten|erfüllen|unterstützen|nachkommen|bereitstellen|geben|erstellen|schreiben}",
		"ich bin {leider|} nicht in der lage",
		// Portuguese
		"{desculpe|sinto muito} {mas|} não posso",
		"não posso {ajudar*|fornecer*|responder*|atender*}",
		// Italian
		"{mi dispiace|spiacente} {ma|} non posso",
		"non posso {aiutar*|fornir*|rispondere|assister*}",
		// Japanese
		"{お答え|お手伝い|対応|回答|提供} {することは|は|} {でき|いたしかね} ません",
		// Chinese
		"{抱歉|对不起} 我 {无法|不能}",
		"我 {无法|不能} {帮助|协助|提供|回答|满足}",
		// Korean
		"{도와드릴|도와 드릴|답변드릴|답변 드릴|답변해드릴|답변해 드릴|제공해드릴|제공해 드릴} {수 없*|수없*}",
	}},
	{label: "ai_disclaimer", reason: "Output contains an AI self-disclaimer (%s); tighten the system prompt to suppress it.", phrases: []string{
		"as an ai {language model|model|assistant|chatbot|developed by}",
		"as a {large|} language model",
		"{i'm|i am} {just|only|} an ai",
		"como {un|} {modelo de lenguaje|modelo de idioma|asistente de ia|ia|inteligencia artificial}",
		"en tant {qu'ia|qu'intelligence artificielle|qu'assistant|que ia|que modèle de langage|que intelligence artificielle}",
		"als {ein|} {ki-sprachmodell|sprachmodell|ki-assistent}",
		"ich bin {nur|} {ein|eine} {ki|künstliche intelligenz}",
		"ai {言語モデル|アシスタント} として",
		"作为 {一个|} {ai|人工智能}",
	}},
}
