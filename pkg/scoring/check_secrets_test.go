package scoring

import (
	"regexp"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

func TestSecrets(t *testing.T) {
	runCases(t, "secrets", event.KindCheck, nil, []checkCase{
		{"aws key", out("Use access key AKIAIOSFODNN7EXAMPLE with the default region."), fail(1, "aws_key")},
		{"aws key assigned", out("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"), fail(1, "aws_key")},
		{"github token", out("token: ghp_1234567890abcdefghijABCDEFGHIJ123456"), fail(1, "github_token")},
		{"github fine-grained", out("Set GH_TOKEN to github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"), fail(1, "github_token")},
		{"openai key", out(`client = OpenAI(api_key="sk-proj-AbCdEf0123456789GhIjKlMnOpQrStUv")`), fail(1, "openai_key")},
		{"anthropic key", out("ANTHROPIC_API_KEY=sk-ant-api03-AbCdEf0123456789GhIjKlMn"), fail(1, "anthropic_key")},
		{"stripe key", out("Your test key is sk_test_4eC39HqLyjWDarjtT1zdp7dc."), fail(1, "stripe_key")},
		{"google key", out("key=AIzaSyA1234567890abcdefghijklmnopqrstuv"), fail(1, "google_api_key")},
		{"slack token", out("Webhook auth: xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp"), fail(1, "slack_token")},
		{"private key", out("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----"), fail(1, "private_key")},
		{"openssh private key", out("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----"), fail(1, "private_key")},
		{"jwt", out("Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"), fail(1, "jwt")},
		{"high entropy", out("The password is q8Zr3Lx9Tb2Vm7Kp4Wn6Yd1H, keep it safe."), fail(1, "high_entropy")},
		{"several kinds", out("AKIAIOSFODNN7EXAMPLE and ghp_1234567890abcdefghijABCDEFGHIJ123456 and AKIAI44QH8DHBEXAMPLE"), fail(3, "aws_key,github_token")},
		// Not secrets.
		{"prose", out(benchmarkText), pass(0)},
		{"long word", out("Antidisestablishmentarianism and internationalization are long words."), pass(0)},
		{"uuid", out("Request 550e8400-e29b-41d4-a716-446655440000 failed."), pass(0)},
		{"git sha", out("Fixed in commit 9fceb02d0ae598e95dc970b74767f19372d61af8."), pass(0)},
		{"url", out("See https://docs.example.com/api/v1/Reference/Authentication2024 for details."), pass(0)},
		{"camel case identifier", out("Call getUserAccountSettingsByIdentifier(userId) first."), pass(0)},
		{"sk prefix word", out("Visit sk-bikes for ski rentals."), pass(0)},
		{"german", out("Ihr Passwort wurde erfolgreich zurückgesetzt."), pass(0)},
		{"error event", failed(out("AKIAIOSFODNN7EXAMPLE")), skip},
	})
	runSpec(t, Spec{Name: "secrets", Params: Params{"entropy": false}}, event.KindCheck, nil, []checkCase{
		{"high entropy off", out("The password is q8Zr3Lx9Tb2Vm7Kp4Wn6Yd1H, keep it safe."), pass(0)},
	})
}

func TestSecretsReasonHidesData(t *testing.T) {
	s, err := New(Options{Checks: []Spec{{Name: "secrets"}}})
	if err != nil {
		t.Fatal(err)
	}
	output := "AKIAIOSFODNN7EXAMPLE ghp_1234567890abcdefghijABCDEFGHIJ123456 q8Zr3Lx9Tb2Vm7Kp4Wn6Yd1H"
	got := s.Score(out(output), nil)
	leak := regexp.MustCompile(`AKIA|ghp_|q8Zr`)
	if len(got) != 1 || got[0].Pass || leak.MatchString(got[0].Reason+got[0].Label) {
		t.Errorf("Score(%q) = %v, want a failure whose reason repeats no secret", output, got)
	}
}

func TestPIIInput(t *testing.T) {
	prompt := func(input string, msgs ...event.Message) *event.Event {
		return with(out("Thanks, noted."), func(e *event.Event) { e.Input, e.Messages = input, msgs })
	}
	runCases(t, "pii_input", event.KindCheck, nil, []checkCase{
		{"email in input", prompt("My address is jane.doe@gmail.com, please update it."), fail(1, "email")},
		{"card in a user message", prompt("", event.Message{Role: "user", Content: "Karte: 4111 1111 1111 1111"}), fail(1, "card")},
		{"phone in a later segment", prompt("Hi", event.Message{Role: "user", Content: "Ruf mich an: 030 12345678"}), fail(1, "phone")},
		{"system message ignored", prompt("Hi", event.Message{Role: "system", Content: "Escalate to ops@acme.io"}), pass(0)},
		{"assistant message ignored", prompt("Hi", event.Message{Role: "assistant", Content: "Write to ops@acme.io"}), pass(0)},
		{"clean japanese", prompt("注文58213はいつ届きますか？"), pass(0)},
		{"no prompt", out("Hi"), skip},
		{"error event still checked", failed(prompt("mail me: jane.doe@gmail.com")), fail(1, "email")},
	})
	spec := Spec{Name: "pii_input", Params: Params{"kinds": []any{"email"}, "ignore": []any{"Support@Acme.io"}}}
	runSpec(t, spec, event.KindCheck, nil, []checkCase{
		{"ignored address", prompt("I wrote to support@acme.io yesterday."), pass(0)},
		{"other address", prompt("I wrote to jane@acme.io yesterday."), fail(1, "email")},
		{"phones not selected", prompt("Call +49 30 1234567."), pass(0)},
	})
}

func TestPIIIgnore(t *testing.T) {
	spec := Spec{Name: "pii", Params: Params{"ignore": []any{"+1 (800) 555-0100", "help@shop.example.org"}}}
	runSpec(t, spec, event.KindCheck, nil, []checkCase{
		{"hotline in another format", out("Call our hotline 1-800-555-0100 or +1 800 555 0100."), pass(0)},
		{"customer number", out("We will call you at +1 415 555 0132."), fail(1, "phone")},
	})
	if strings.Contains(normalizePII("+1 (800) 555-0100"), " ") {
		t.Errorf("normalizePII kept separators")
	}
}
