package scoring

import "strings"

// stopwords are function words (articles, pronouns, prepositions, auxiliaries, particles) of
// English, German, French, Spanish, Italian, Portuguese, Dutch and Russian, and the commonest
// Japanese and Chinese particles. Checks that compare content (context coverage, prompt overlap,
// named entities) leave them out.
var stopwords = func() *table {
	var t table
	lists := []string{
		// English
		`a about above after again against all am an and any are as at be because been before being below
		between both but by can could did do does doing down during each few for from further had has have
		having he her here hers herself him himself his how i if in into is it its itself just me more most
		my myself no nor not now of off on once only or other our ours ourselves out over own same she
		should so some such than that the their theirs them themselves then there these they this those
		through to too under until up very was we were what when where which while who whom why will with
		would you your yours yourself yourselves also may might must shall us let i'm you're it's don't
		can't won't isn't aren't doesn't didn't we're they're i've you've i'll you'll yes ok okay sure
		please thanks`,
		// German
		`aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes auch
		auf aus bei bin bis bist da damit dann das dass dein deine dem den der des dich die dies diese
		diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines er es etwas
		euch euer für hat hatte hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im in
		indem ins ist ja jede jedem jeden jeder jedes kann kein keine mein meine mich mir mit muss nach
		nicht nichts noch nun nur ob oder ohne sehr sein seine sich sie sind so über um und uns unser
		unsere unter vom von vor war waren was weil welche wenn wer wie wir wird wo zu zum zur sie bitte
		vielen ja nein`,
		// French
		`au aux avec ce ces dans de des du elle en et eux il ils je la le les leur lui ma mais me même mes
		moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un
		une vos votre vous c'est est sont été être avoir a ai as avons avez ont était cette cet y l' d' oui`,
		// Spanish
		`al algo como con contra cual cuando de del desde donde durante e el ella ellas ellos en entre era
		es esa ese eso esta este esto estos ha han hasta la las le les lo los más me mi mis muy nada ni no
		nos nosotros o os otra otro para pero poco por porque que quien se ser si sin sobre son su sus
		también te tiene tu tus un una uno unos usted ustedes y ya yo está están sí`,
		// Italian
		`ad al alla alle allo anche che chi ci come con da dal dalla dei del della delle dello di e è gli
		ha hanno il in io la le lei lo loro lui ma mi ne nei nel nella noi non o per più quale quello
		questo se si sono su sua suo tra tu un una uno voi sì`,
		// Portuguese
		`ao aos as até com como da das de dela dele do dos e ela ele eles em entre era essa esse está eu
		foi há isso isto já lhe mais mas me meu minha muito na não nas nem no nos nós o os ou para pela
		pelo por qual quando que se sem ser seu sua são também te tem um uma você sim`,
		// Dutch
		`aan al als bij dan dat de die dit door een en er het hij hoe hun ik in is je kan maar me met
		mijn na naar niet nog of om ons ook op over te tot u uit van voor was wat we wij zal ze zij zijn
		zo`,
		// Russian
		`а без более бы был была были было быть в вам вас весь во вот все всё вы где да даже для до его
		ее её если есть еще ещё же за здесь и из или им их к как когда кто ли либо мне может мы на над
		надо наш не него нее неё нет ни них но ну о об однако он она они оно от очень по под при с со
		так также такой там те тем то того тоже той только том ты у уже хотя чего чей чем что чтобы чье
		чья эта эти это я`,
		// Japanese and Chinese particles (each character is a word)
		`の は が を に で と も へ や か ね よ な だ し て た 的 了 是 在 和 与 或 也 就 都 而 及 着 过 吗 呢 吧`,
	}
	n := 0
	for _, l := range lists {
		n += len(strings.Fields(l))
	}
	t.reset(n)
	for _, l := range lists {
		for _, w := range strings.Fields(l) {
			tx := Text{segs: []string{w}}
			for _, word := range tx.Words() {
				t.put(word.Key, 1)
			}
		}
	}
	return &t
}()

// isStopword reports whether the word with key k is a function word.
func isStopword(k uint64) bool { return stopwords.has(k) }
