package scoring

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	Register("refusal", func(Env) (Check, error) { return refusal{}, nil })
}

// refusal is the "refusal" check: did the model decline, disclaim or fall back instead of
// answering?
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: fail with value 1 when a phrase of one of the families below starts at a word of the
// output (case and apostrophe style ignored); label = the first matching family in this order, and
// the reason quotes the matched phrase. Otherwise pass with value 0.
//   - "policy": "against my guidelines", "violates our content policy", "I'm not allowed to", ...
//   - "refusal": "I can't help with", "I cannot assist", "I'm sorry, but I can't", "I am unable
//     to", "Lo siento, no puedo", "Je ne peux pas", "Ich kann nicht", "お答えできません", ...
//   - "ai_disclaimer": "As an AI language model", "como modelo de lenguaje", "AI言語モデルとして", ...
//   - "fallback": "I don't have enough information", "I couldn't find any information", "the
//     provided context does not mention", "No tengo información", "情報がありません", ...
//
// English, Spanish, French, German, Portuguese, Italian, Japanese, Chinese and Korean phrases are
// listed.
// Parameters: the phrase lists in refusalFamilies.
type refusal struct{}

func (refusal) Name() string     { return "refusal" }
func (refusal) Kind() event.Kind { return event.KindCheck }

func (c refusal) Score(ev *event.Event) (event.Score, bool) {
	if !hasOutput(ev) {
		return event.Score{}, false
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Pass: true}
	text := strings.Map(foldPhrase, ev.Output)
	best, match := len(refusalFamilies), ""
	// Phrases start at a word, so only word starts are tried, each against the few phrases that
	// share its first two bytes; this keeps the check linear in the output with a small constant.
	for start := range words(text) {
		if start+2 > len(text) {
			break
		}
		for _, p := range phraseIndex[text[start:start+2]] {
			if p.family >= best || !strings.HasPrefix(text[start:], p.literal) {
				continue
			}
			if m := p.matchAt(text, start); m != "" {
				best, match = p.family, m
			}
		}
		if best == 0 {
			break
		}
	}
	if best < len(refusalFamilies) {
		f := refusalFamilies[best]
		sc.Value, sc.Pass, sc.Label = 1, false, f.label
		sc.Reason = fmt.Sprintf(f.reason, clip(strings.Join(strings.Fields(match), " "), 60))
	}
	return sc, true
}

// foldPhrase lower-cases r and maps the typographic apostrophe to ASCII, so that phrases are
// written once in lower case.
func foldPhrase(r rune) rune {
	if r == '’' {
		return '\''
	}
	return unicode.ToLower(r)
}

// phraseFamily is one kind of non-answer and the phrases that reveal it.
type phraseFamily struct {
	label    string
	reason   string   // a format with one %q verb for the matched phrase
	patterns []string // RE2, over folded text, each starting at a word with a literal
}

// phrase is one compiled pattern of a family.
type phrase struct {
	family  int            // index in refusalFamilies
	literal string         // the literal every match starts with
	re      *regexp.Regexp // the pattern anchored at the start of its input
}

// phraseWindow bounds the text a phrase match may span, in bytes.
const phraseWindow = 256

// matchAt returns the match of p starting at text[start], or "".
func (p *phrase) matchAt(text string, start int) string {
	window := text[start:min(len(text), start+phraseWindow)]
	loc := p.re.FindStringIndex(window)
	if loc != nil && loc[1] == len(window) && len(window) < len(text)-start {
		// The match reaches the cut; let it see the rest of the text.
		loc = p.re.FindStringIndex(text[start:])
	}
	if loc == nil {
		return ""
	}
	return text[start : start+loc[1]]
}

// phraseIndex maps the first two bytes of each phrase's literal to the phrase.
var phraseIndex = func() map[string][]*phrase {
	index := make(map[string][]*phrase)
	for i, f := range refusalFamilies {
		for _, pat := range f.patterns {
			literal, _ := regexp.MustCompile(pat).LiteralPrefix()
			if len(literal) < 2 {
				panic(fmt.Sprintf("scoring: refusal phrase %q needs a literal prefix of two bytes or more", pat))
			}
			p := &phrase{family: i, literal: literal, re: regexp.MustCompile(`^(?:` + pat + `)`)}
			index[literal[:2]] = append(index[literal[:2]], p)
		}
	}
	return index
}()

// refusalFamilies lists the phrase families in the order they are reported. Patterns are written
// in lower case with ASCII apostrophes (see foldPhrase); each must match from the start of a word
// and begin with a literal of at least two bytes.
var refusalFamilies = []phraseFamily{
	{label: "policy", reason: "Output cites a usage policy (%q); check whether inputs trip the provider's safety filters.", patterns: []string{
		`against (?:my|the|our|openai's|anthropic's) (?:(?:usage|content|safety) )?(?:guidelines|polic(?:y|ies)|terms of (?:use|service)|programming)`,
		`violat\w* (?:my|the|our|openai's|anthropic's) (?:(?:usage|content|safety) )?(?:guidelines|polic(?:y|ies)|terms of (?:use|service))`,
		`i'm not (?:allowed|permitted) to\b`,
		`i am not (?:allowed|permitted) to\b`,
		`va en contra de (?:mis|las|nuestras) (?:directrices|políticas|normas)`,
		`viola (?:mis|las|nuestras) (?:directrices|políticas|normas)`,
		`contraire à (?:mes|nos|les) (?:directives|règles|politiques)`,
		`enfreint (?:mes|nos|les) (?:directives|règles|politiques)`,
		`verstößt gegen (?:meine|unsere|die) (?:[^\s]+ )?richtlinien`,
	}},
	{label: "refusal", reason: "Output declines the request (%q); review which prompts and inputs trigger refusals.", patterns: []string{
		// English
		`i (?:can't|cant|cannot|can not|won't|will not) (?:help|assist|comply|fulfil|provide|support|answer|do that|engage|generate|create|write|share|give|continue|discuss)`,
		`i'm (?:unable|not able) to\b`,
		`i am (?:unable|not able) to\b`,
		`sorry,? (?:but )?i (?:can't|cannot|can not|won't|will not|am unable|'m unable|am not able|'m not able)\b`,
		`i apologi[sz]e,? (?:but )?i (?:can't|cannot|can not|won't|will not|am unable|'m unable|am not able|'m not able)\b`,
		`i (?:must|have to) (?:respectfully )?(?:decline|refuse)\b`,
		// Spanish
		`lo siento,? (?:pero )?no (?:puedo|me es posible)`,
		`no puedo (?:ayudar|asistir|proporcionar|responder|cumplir|hacer eso|generar|crear|ofrecer)`,
		// French
		`je ne (?:peux|pourrai) pas\b`,
		`je ne suis pas en mesure de\b`,
		// German
		`ich kann nicht\b`,
		`ich kann (?:[^\s]+\s+){1,4}?nicht (?:helfen|behilflich|weiterhelfen|beantworten|erfüllen|unterstützen|nachkommen|bereitstellen|geben|erstellen|schreiben)`,
		`ich bin (?:leider )?nicht in der lage\b`,
		// Portuguese
		`desculpe,? (?:mas )?não posso`,
		`sinto muito,? (?:mas )?não posso`,
		`não posso (?:ajudar|fornecer|responder|atender)`,
		// Italian
		`mi dispiace,? (?:ma )?non posso`,
		`spiacente,? (?:ma )?non posso`,
		`non posso (?:aiutar|fornir|rispondere|assister)`,
		// Japanese
		`お答え(?:することは|は)?(?:でき|いたしかね)ません`,
		`お手伝い(?:することは|は)?(?:でき|いたしかね)ません`,
		`対応(?:することは|は)?(?:でき|いたしかね)ません`,
		`回答(?:することは|は)?(?:でき|いたしかね)ません`,
		`提供(?:することは|は)?(?:でき|いたしかね)ません`,
		// Chinese
		`抱歉[，,]?\s*我(?:无法|不能)`,
		`对不起[，,]?\s*我(?:无法|不能)`,
		`我无法(?:帮助|协助|提供|回答|满足)`,
		`我不能(?:帮助|协助|提供|回答|满足)`,
		// Korean
		`도와\s?드릴\s?수\s?없`,
		`답변(?:해)?\s?드릴\s?수\s?없`,
		`제공해\s?드릴\s?수\s?없`,
	}},
	{label: "ai_disclaimer", reason: "Output contains an AI self-disclaimer (%q); tighten the system prompt to suppress it.", patterns: []string{
		`as an ai (?:language model|model|assistant|chatbot|developed by)`,
		`as a (?:large )?language model\b`,
		`i'm (?:just |only )?an ai\b`,
		`i am (?:just |only )?an ai\b`,
		`como (?:un )?(?:modelo de (?:lenguaje|idioma)|asistente de ia|ia\b|inteligencia artificial)`,
		`en tant qu'(?:ia\b|intelligence artificielle|assistant)`,
		`en tant que (?:modèle de langage|ia\b|intelligence artificielle)`,
		`als (?:ein )?(?:ki-)?sprachmodell`,
		`als (?:ein )?ki-assistent`,
		`ich bin (?:nur )?eine? (?:ki\b|künstliche intelligenz)`,
		`ai言語モデルとして`,
		`aiアシスタントとして`,
		`作为(?:一个)?(?:ai|人工智能)`,
	}},
	{label: "fallback", reason: "Output is a fallback answer (%q); check retrieval and whether the needed information reaches the model.", patterns: []string{
		`i (?:don't|do not) have (?:enough |sufficient |any |the )?(?:information|access|data|context|details)\b`,
		`i (?:don't|do not) know the answer\b`,
		`i (?:couldn't|could not|was unable to|wasn't able to) find (?:any )?(?:relevant |specific )?(?:information|results|data|details)\b`,
		`the (?:provided |given )?(?:context|documents?|sources?) (?:does|do) not (?:contain|mention|include|provide)\b`,
		`no (?:relevant )?information (?:is )?available\b`,
		`no tengo (?:suficiente |la |esa )?información`,
		`no (?:encontré|he encontrado|pude encontrar) (?:ninguna )?información`,
		`je n'ai pas (?:(?:assez|suffisamment) )?(?:d')?(?:informations?|accès)`,
		`je ne dispose pas (?:de suffisamment |d'|des )informations`,
		`ich habe keine (?:ausreichenden |genügend |weiteren )?(?:informationen|daten|zugriff)`,
		`liegen mir keine informationen\b`,
		`情報がありません`,
		`情報が見つかりません`,
		`データがありません`,
		`わかりません`,
		`分かりません`,
	}},
}
