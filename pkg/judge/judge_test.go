package judge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
)

const exampleFile = `{
  "judges": [
    {
      "name": "helpfulness",
      "endpoint": "https://api.openai.com/v1",
      "model": "gpt-4o-mini",
      "api_key_env": "JUDGE_TEST_KEY",
      "rubric": "Does the answer resolve the question?\nQuestion: {{.Input}}\nAnswer: {{.Output}}",
      "threshold": 0.7,
      "sample_rate": 0.05,
      "max_per_minute": 60,
      "max_usd_per_day": 5,
      "price_per_1k_input": 0.00015,
      "price_per_1k_output": 0.0006,
      "timeout": "20s",
      "retries": 2,
      "apps": ["shop"],
      "features": ["support-*"]
    }
  ]
}`

func TestParseFile(t *testing.T) {
	t.Setenv("JUDGE_TEST_KEY", "sk-test-0123456789")
	f, err := ParseFile([]byte(exampleFile))
	if err != nil {
		t.Fatalf("ParseFile(example) = %v", err)
	}
	want := Judge{
		Name: "helpfulness", Endpoint: "https://api.openai.com/v1", Model: "gpt-4o-mini", APIKeyEnv: "JUDGE_TEST_KEY",
		Rubric: "Does the answer resolve the question?\nQuestion: {{.Input}}\nAnswer: {{.Output}}", Threshold: 0.7, SampleRate: 0.05,
		MaxPerMinute: 60, MaxUSDPerDay: 5, PricePer1KInput: 0.00015, PricePer1KOutput: 0.0006, Timeout: Duration(20 * time.Second),
		Retries: 2, Apps: []string{"shop"}, Features: []string{"support-*"},
	}
	if diff := cmp.Diff([]Judge{want}, f.Judges); diff != "" {
		t.Errorf("ParseFile(example) (-want +got):\n%s", diff)
	}
	j := f.Judges[0]
	if got := j.Metric(); got != "judge_helpfulness" {
		t.Errorf("Metric() = %q, want judge_helpfulness", got)
	}
	if got := j.URL(); got != "https://api.openai.com/v1/chat/completions" {
		t.Errorf("URL() = %q", got)
	}
	if len(f.Version()) != 12 || len(j.Version()) != 12 {
		t.Errorf("versions %q, %q: want 12 hex digits", f.Version(), j.Version())
	}

	file := filepath.Join(t.TempDir(), "judges.json")
	if err := os.WriteFile(file, []byte(exampleFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if loaded, err := LoadFile(file); err != nil || loaded.Version() != f.Version() {
		t.Errorf("LoadFile = %v, %v; want the parsed file", loaded, err)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("LoadFile(missing) = nil error")
	}
}

func TestParseFileReportsEveryProblem(t *testing.T) {
	t.Setenv("JUDGE_TEST_KEY", "")
	bad := `{"judges": [
	  {"name": "Bad Name", "endpoint": "ftp://x", "model": "", "api_key_env": "JUDGE_TEST_KEY",
	   "rubric": "no fields here", "threshold": 0, "sample_rate": 1.5, "max_per_minute": -1,
	   "max_usd_per_day": 3, "timeout": "20m", "retries": 11, "apps": ["[x"]},
	  {"name": "ok", "endpoint": "http://user:hunter2@127.0.0.1:1/v1", "model": "m", "rubric": "{{.Nope}}",
	   "threshold": 0.5, "sample_rate": 1, "api_key_env": "VIGIL_JUDGE_KEY"},
	  {"name": "ok", "endpoint": "http://127.0.0.1:1", "model": "m", "rubric": "{{.Output}}", "threshold": 0.5, "sample_rate": 1}
	]}`
	_, err := ParseFile([]byte(bad))
	if err == nil {
		t.Fatal("ParseFile(bad) = nil error")
	}
	for _, want := range []string{
		"judges[0].name:", "judges[0].endpoint:", "judges[0].model: required", "judges[0].api_key_env: the variable JUDGE_TEST_KEY is not set",
		"judges[0].rubric: uses no event field", "judges[0].threshold:", "judges[0].sample_rate:", "judges[0].max_per_minute:",
		"judges[0].max_usd_per_day: a spend cap needs", "judges[0].timeout:", "judges[0].retries:", "judges[0].apps[0]:",
		"judges[1].rubric: does not render", "judges[1].api_key_env: VIGIL_JUDGE_KEY", "judges[2].name: \"ok\" is used twice",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFile(bad) = %v\nwant it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("ParseFile(bad) shows a password: %v", err)
	}

	for _, tc := range []struct{ name, file, want string }{
		{"unknown field", `{"judges":[{"name":"a","sample_rat":1}]}`, `unknown field "sample_rat"`},
		{"wrong type", `{"judges":[{"name":"a","threshold":"high"}]}`, "judges.threshold: wrong type"},
		{"bad duration", `{"judges":[{"name":"a","timeout":"soon"}]}`, `"soon" is not a duration`},
		{"empty", `{"judges":[]}`, "at least one judge"},
		{"trailing data", `{"judges":[]} {}`, "unexpected data"},
	} {
		if _, err := ParseFile([]byte(tc.file)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ParseFile(%s) = %v, want it to contain %q", tc.name, tc.file, err, tc.want)
		}
	}
}

func TestVersionFollowsWhatDecidesScores(t *testing.T) {
	base := Judge{Name: "tone", Endpoint: "http://a/v1", Model: "m", Rubric: "{{.Output}}", Threshold: 0.5, SampleRate: 0.1}
	same := base
	same.Endpoint, same.SampleRate, same.MaxPerMinute, same.MaxUSDPerDay, same.Retries = "http://b/v1", 0.9, 10, 1, 3
	if base.Version() != same.Version() {
		t.Errorf("Version changed with endpoint, rate, caps or retries: %s → %s", base.Version(), same.Version())
	}
	for name, change := range map[string]func(*Judge){
		"name":      func(j *Judge) { j.Name = "tone2" },
		"model":     func(j *Judge) { j.Model = "m2" },
		"rubric":    func(j *Judge) { j.Rubric = "Judge: {{.Output}}" },
		"threshold": func(j *Judge) { j.Threshold = 0.6 },
	} {
		j := base
		change(&j)
		if j.Version() == base.Version() {
			t.Errorf("Version unchanged after changing the %s", name)
		}
	}
	two := File{Judges: []Judge{base, same}}
	if (&File{Judges: []Judge{base}}).Version() == two.Version() {
		t.Error("File.Version unchanged after adding a judge")
	}
}

func TestApplies(t *testing.T) {
	j := Judge{Apps: []string{"shop", "demo-*"}, Features: []string{"support"}}
	for _, tc := range []struct {
		ev   event.Event
		want bool
	}{
		{event.Event{App: "shop", Feature: "support"}, true},
		{event.Event{App: "demo-eu", Feature: "support"}, true},
		{event.Event{App: "bank", Feature: "support"}, false},
		{event.Event{App: "shop", Feature: "search"}, false},
		{event.Event{App: "shop"}, false}, // feature "default"
		{event.Event{App: "shop", Feature: "support", Status: event.StatusError}, false},
	} {
		if got := j.Applies(&tc.ev); got != tc.want {
			t.Errorf("Applies(app %q, feature %q, status %q) = %v, want %v", tc.ev.App, tc.ev.Feature, tc.ev.Status, got, tc.want)
		}
	}
	all := Judge{}
	if !all.Applies(&event.Event{App: "x"}) {
		t.Error("a judge without apps or features does not apply to every event")
	}
}

func TestPromptData(t *testing.T) {
	ev := &event.Event{
		App: "shop", Model: "gpt-x", Output: "Tomorrow.", Expected: "Within two days.",
		Messages: []event.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Hello"}, {Role: "user", Content: "When?"}},
		Context:  []event.Passage{{ID: "p1", Text: "Ships in two days."}, {ID: "p2", Text: "No weekends."}},
	}
	want := PromptData{
		Input: "When?", Messages: "system: Be brief.\nuser: Hi\nassistant: Hello\nuser: When?", Output: "Tomorrow.",
		Context: "[p1] Ships in two days.\n\n[p2] No weekends.", Expected: "Within two days.", App: "shop", Feature: "default", Model: "gpt-x",
	}
	if diff := cmp.Diff(want, NewPromptData(ev)); diff != "" {
		t.Errorf("NewPromptData (-want +got):\n%s", diff)
	}
	ev.Input = "Explicit input"
	if got := NewPromptData(ev).Input; got != "Explicit input" {
		t.Errorf("NewPromptData().Input = %q, want the event's input", got)
	}
}
