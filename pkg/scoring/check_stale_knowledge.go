package scoring

import "github.com/vigilhq/vigil/pkg/event"

func init() {
	RegisterInfo(Info{
		Name: "stale_knowledge", Kind: event.KindCheck,
		Description: "Does the output admit a knowledge cutoff or no real-time access, or mention what a team marked as outdated?",
		Applies:     "status is not error",
		Fails:       "a cutoff or no-real-time phrase, or a configured outdated phrase or date (labels knowledge_cutoff, no_realtime, outdated)",
		Params:      phraseParams,
	}, newStaleKnowledge)
}

// newStaleKnowledge builds the "stale_knowledge" check: does the output show that the model
// answers from stale knowledge?
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: fail with value 1 when a phrase of one of the families below occurs as whole words in
// one sentence of the output (case, apostrophe style and Unicode normalisation ignored); label =
// the first matching family in this order, and the reason quotes the matched text. Otherwise pass
// with value 0.
//   - "knowledge_cutoff": "as of my last knowledge update", "as of my knowledge cutoff", "my
//     training data goes up to", "según mi última actualización", "我的知识截止", ...
//   - "no_realtime": "I don't have real-time information", "I cannot browse the internet", "no
//     tengo acceso a información en tiempo real", ...
//   - "outdated": the phrases parameter: phrases or dates a team marks as outdated, such as a
//     retired product name, last year's price or "2023". A date matches as its numbers: "2023 12
//     31" matches 2023-12-31, 2023/12/31 and 31.12.2023 does not.
//
// Parameters: phrases (strings, default none: the outdated phrases and dates), builtin (boolean,
// default true: false keeps only the configured phrases).
func newStaleKnowledge(_ Env, p Params) (Check, error) {
	return newDetector("stale_knowledge", staleFamilies, 2, nil, p)
}

// staleFamilies are the phrases of the stale_knowledge check, by label in the order they are
// reported.
var staleFamilies = []family{
	{label: "knowledge_cutoff", reason: "Output refers to the model's knowledge cutoff (%s); ground answers in current data through retrieval or tools.", phrases: []string{
		"{as of|based on|according to|up to} my {last|latest|most recent|} {knowledge|training} {update|cutoff|cut off|data}",
		"{as of|based on|according to|up to} my last update",
		"{my|the} {knowledge|training data|training} {cutoff|cut off}",
		"my {knowledge|training data} {only|} {goes|extends|runs|is current} {up to|until|through|to}",
		"{según|hasta} mi {última|} {actualización|fecha de corte}",
		"mi fecha de corte",
		"{selon|à la date de|jusqu'à} ma dernière mise à jour",
		"ma date {de coupure|limite de connaissances|limite de connaissance}",
		"{stand|nach dem stand} {meines|meiner} {wissens|letzten aktualisierung|trainingsdaten}",
		"{mein|meinem} {wissensstand|kenntnisstand|trainingsstand}",
		"{até|de acordo com} a minha última atualização",
		"{fino al|secondo il} mio ultimo aggiornamento",
		"知識 の カットオフ",
		"{截至|截止到} 我 的 {知识|训练}",
		"我 的 {知识|训练数据} 截止",
	}},
	{label: "no_realtime", reason: "Output says the model lacks current information (%s); ground answers in current data through retrieval or tools.", phrases: []string{
		"i {don't|do not} have {access to|} {real-time|realtime|live|current|up-to-date|up to date} {information|data|access|updates|prices|news}",
		"i {can't|cannot|am unable to|am not able to} {browse|access|search} the {internet|web}",
		"i {don't|do not} have {the ability to browse|browsing capabilities|internet access|access to the internet}",
		"{no tengo|no dispongo de} acceso a {información|datos|internet} {en tiempo real|}",
		"je n'ai pas accès {à des|aux|à} {informations|données|internet} {en temps réel|}",
		"ich habe keinen zugriff auf {echtzeit*|aktuelle|das internet}",
		"não tenho acesso a {informações|dados} em tempo real",
		"non ho accesso a {informazioni|dati} in tempo reale",
		"у меня нет доступа к {интернету|актуальной информации}",
		"リアルタイム の {情報|データ} {に|には} アクセス",
		"{无法|不能} {访问|获取} 实时",
	}},
	{label: "outdated", reason: "Output mentions something marked as outdated (%s); update the prompt, context or tools that supplied it."},
}
