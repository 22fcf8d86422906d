package event

import (
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/schematest"
)

const feedbackSchema = "feedback.v1.schema.json"

// validFeedbackJSON is a feedback that decodes; cases below change one thing in it.
const validFeedbackJSON = `{"feedback_id":"fb-1","event_id":"evt-1","timestamp":"2026-11-26T09:16:40Z","app":"helpdesk","model":"gpt-4o-mini","kind":"thumbs","value":0}`

// feedbackWith returns validFeedbackJSON with its kind and value replaced by members.
func feedbackWith(members string) string {
	return strings.Replace(validFeedbackJSON, `"kind":"thumbs","value":0`, members, 1)
}

func TestDecodeFeedbackExamples(t *testing.T) {
	for _, path := range exampleFiles(t, "feedback/valid/*.json") {
		t.Run("valid/"+filepath.Base(path), func(t *testing.T) {
			f, err := DecodeFeedback(readFile(t, path))
			if err != nil {
				t.Fatalf("DecodeFeedback(%s) = %v, want nil error", path, err)
			}
			if f.FeedbackID == "" || f.EventID == "" || f.App == "" || f.Model == "" || f.Kind == "" || f.Timestamp.IsZero() {
				t.Errorf("DecodeFeedback(%s) = %+v, want the required fields set", path, f)
			}
		})
	}
	for _, path := range exampleFiles(t, "feedback/invalid/*.json") {
		t.Run("invalid/"+filepath.Base(path), func(t *testing.T) {
			want := expectedField(t, path)
			f, err := DecodeFeedback(readFile(t, path))
			if err == nil {
				t.Fatalf("DecodeFeedback(%s) = %+v, nil, want an error naming %q", path, f, want)
			}
			if f != nil {
				t.Errorf("DecodeFeedback(%s) returned a feedback with error %v", path, err)
			}
			if fields := errorFields(err); !slices.Contains(fields, want) {
				t.Errorf("DecodeFeedback(%s) = %v (fields %q), want an error naming %q", path, err, fields, want)
			}
		})
	}
}

func TestDecodeFeedback(t *testing.T) {
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name string
		in   string
		// wantFields lists fields the error must name; nil means the feedback must decode.
		wantFields []string
	}{
		{name: "thumbs down", in: validFeedbackJSON},
		{name: "thumbs up", in: feedbackWith(`"kind":"thumbs","value":1`)},
		{name: "thumbs up written 1.0", in: feedbackWith(`"kind":"thumbs","value":1.0`)},
		{name: "rating", in: feedbackWith(`"kind":"rating","value":7,"scale_min":0,"scale_max":10`)},
		{name: "rating at the bounds", in: feedbackWith(`"kind":"rating","value":1,"scale_min":1,"scale_max":5`)},
		{name: "rating with fractions", in: feedbackWith(`"kind":"rating","value":0.25,"scale_min":-1,"scale_max":1`)},
		{name: "correction", in: feedbackWith(`"kind":"correction","correction":"The refund takes 5 days.","source":"reviewer"`)},
		{name: "label without prediction", in: feedbackWith(`"kind":"label","label":"fraud","source":"ground_truth"`)},
		{name: "label with prediction", in: feedbackWith(`"kind":"label","label":"fraud","predicted":"legit"`)},
		{name: "unused text fields empty", in: feedbackWith(`"kind":"thumbs","value":1,"label":"","predicted":"","correction":""`)},
		{name: "unused number fields null", in: feedbackWith(`"kind":"correction","correction":"x","value":null,"scale_min":null,"scale_max":null`)},
		{name: "comment on any kind", in: feedbackWith(`"kind":"rating","value":2,"scale_min":1,"scale_max":5,"comment":"slow"`)},
		{name: "source empty", in: feedbackWith(`"kind":"thumbs","value":1,"source":""`)},

		{name: "empty body", in: "", wantFields: []string{"(feedback)"}},
		{name: "null", in: "null", wantFields: []string{"(feedback)"}},
		{name: "an event", in: validJSON, wantFields: []string{"output"}},
		{name: "two objects", in: validFeedbackJSON + validFeedbackJSON, wantFields: []string{"(feedback)"}},
		{name: "empty object", in: `{}`, wantFields: []string{"feedback_id", "event_id", "timestamp", "app", "model", "kind"}},
		{name: "key twice", in: strings.TrimSuffix(validFeedbackJSON, "}") + `,"value":1}`, wantFields: []string{"value"}},
		{name: "invalid UTF-8 in comment", in: feedbackWith(`"kind":"thumbs","value":1,"comment":"caf` + "\xe9" + `"`), wantFields: []string{"comment"}},
		{name: "too large", in: feedbackWith(`"kind":"thumbs","value":1,"comment":"` + strings.Repeat("a", MaxFeedbackBytes) + `"`), wantFields: []string{"(feedback)"}},
		{name: "comment too long", in: feedbackWith(`"kind":"thumbs","value":1,"comment":"` + strings.Repeat("a", maxFeedbackText+1) + `"`), wantFields: []string{"comment"}},
		{name: "feedback id with slash", in: strings.Replace(validFeedbackJSON, `"fb-1"`, `"fb/1"`, 1), wantFields: []string{"feedback_id"}},
		{name: "event id empty", in: strings.Replace(validFeedbackJSON, `"evt-1"`, `""`, 1), wantFields: []string{"event_id"}},
		{name: "timestamp far future", in: strings.Replace(validFeedbackJSON, "2026-11-26T09:16:40Z", future, 1), wantFields: []string{"timestamp"}},
		{name: "timestamp before 2000", in: strings.Replace(validFeedbackJSON, "2026", "1999", 1), wantFields: []string{"timestamp"}},
		{name: "app wildcard", in: strings.Replace(validFeedbackJSON, `"helpdesk"`, `"help*"`, 1), wantFields: []string{"app"}},
		{name: "environment with space", in: feedbackWith(`"kind":"thumbs","value":1,"environment":"pro d"`), wantFields: []string{"environment"}},
		{name: "model empty", in: strings.Replace(validFeedbackJSON, `"gpt-4o-mini"`, `""`, 1), wantFields: []string{"model"}},
		{name: "kind upper case", in: feedbackWith(`"kind":"THUMBS","value":1`), wantFields: []string{"kind"}},
		{name: "thumbs value 2", in: feedbackWith(`"kind":"thumbs","value":2`), wantFields: []string{"value"}},
		{name: "thumbs value null", in: feedbackWith(`"kind":"thumbs","value":null`), wantFields: []string{"value"}},
		{name: "thumbs value boolean", in: feedbackWith(`"kind":"thumbs","value":true`), wantFields: []string{"value"}},
		{name: "thumbs with a scale", in: feedbackWith(`"kind":"thumbs","value":1,"scale_min":0,"scale_max":1`), wantFields: []string{"scale_min", "scale_max"}},
		{name: "rating without anything", in: feedbackWith(`"kind":"rating"`), wantFields: []string{"value", "scale_min", "scale_max"}},
		{name: "rating above the scale", in: feedbackWith(`"kind":"rating","value":6,"scale_min":1,"scale_max":5`), wantFields: []string{"value"}},
		{name: "rating below the scale", in: feedbackWith(`"kind":"rating","value":0,"scale_min":1,"scale_max":5`), wantFields: []string{"value"}},
		{name: "rating scale upside down", in: feedbackWith(`"kind":"rating","value":3,"scale_min":5,"scale_max":1`), wantFields: []string{"scale_max"}},
		{name: "rating scale of one point", in: feedbackWith(`"kind":"rating","value":3,"scale_min":3,"scale_max":3`), wantFields: []string{"scale_max"}},
		{name: "rating out of float range", in: feedbackWith(`"kind":"rating","value":1e400,"scale_min":1,"scale_max":5`), wantFields: []string{"value"}},
		{name: "rating with a label", in: feedbackWith(`"kind":"rating","value":3,"scale_min":1,"scale_max":5,"label":"ok"`), wantFields: []string{"label"}},
		{name: "correction absent", in: feedbackWith(`"kind":"correction"`), wantFields: []string{"correction"}},
		{name: "correction with a value", in: feedbackWith(`"kind":"correction","correction":"x","value":0`), wantFields: []string{"value"}},
		{name: "correction too long", in: feedbackWith(`"kind":"correction","correction":"` + strings.Repeat("c", maxFeedbackText+1) + `"`), wantFields: []string{"correction"}},
		{name: "label absent", in: feedbackWith(`"kind":"label","predicted":"legit"`), wantFields: []string{"label"}},
		{name: "label too long", in: feedbackWith(`"kind":"label","label":"` + strings.Repeat("l", maxLabelLen+1) + `"`), wantFields: []string{"label"}},
		{name: "predicted on thumbs", in: feedbackWith(`"kind":"thumbs","value":1,"predicted":"x"`), wantFields: []string{"predicted"}},
		{name: "correction on label", in: feedbackWith(`"kind":"label","label":"a","correction":"b"`), wantFields: []string{"correction"}},
		{name: "source unknown", in: feedbackWith(`"kind":"thumbs","value":1,"source":"admin"`), wantFields: []string{"source"}},
		{name: "unknown field", in: feedbackWith(`"kind":"thumbs","value":1,"stars":5`), wantFields: []string{"stars"}},
		{name: "field in another case", in: feedbackWith(`"kind":"thumbs","Value":1`), wantFields: []string{"Value"}},
		{name: "every problem at once", in: `{"feedback_id":"a b","event_id":"","timestamp":"1999-12-31T23:59:59Z","app":"a.b","model":"","kind":"rating","value":9,"scale_min":1,"scale_max":5,"source":"x"}`,
			wantFields: []string{"feedback_id", "event_id", "timestamp", "app", "model", "value", "source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := DecodeFeedback([]byte(tt.in))
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("DecodeFeedback(%.200q) = %v, want nil error", tt.in, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodeFeedback(%.200q) = %+v, nil, want an error naming %q", tt.in, f, tt.wantFields)
			}
			got := errorFields(err)
			for _, want := range tt.wantFields {
				if !slices.Contains(got, want) {
					t.Errorf("DecodeFeedback(%.200q) = %v (fields %q), want it to name %q", tt.in, err, got, want)
				}
			}
			if strings.Contains(err.Error(), "caf") || strings.Contains(err.Error(), "aaaa") {
				t.Errorf("DecodeFeedback(%.200q) = %v, which quotes the input", tt.in, err)
			}
		})
	}
}

func TestFeedbackValidateRejectsNonFinite(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	f := &Feedback{FeedbackID: "f", EventID: "e", Timestamp: time.Now(), App: "a", Model: "m", Kind: FeedbackRating,
		Value: &nan, ScaleMin: ptr(0.0), ScaleMax: &inf}
	err := f.Validate()
	if got := errorFields(err); !slices.Contains(got, "value") || !slices.Contains(got, "scale_max") {
		t.Errorf("Validate(NaN rating on [0, +Inf]) = %v, want value and scale_max named", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestFeedbackSeriesDefaults(t *testing.T) {
	f := &Feedback{App: "shop", Model: "m"}
	want := Series{App: "shop", Environment: DefaultEnvironment, Feature: DefaultFeature, Model: "m", PromptVersion: DefaultPromptVersion}
	if diff := cmp.Diff(want, f.Series()); diff != "" {
		t.Errorf("Series() of a feedback without labels (-want +got):\n%s", diff)
	}
	ev := &Event{App: "shop", Model: "m"}
	if f.Series() != ev.Series() {
		t.Errorf("feedback series %+v != series %+v of the call with the same labels", f.Series(), ev.Series())
	}
	if got := f.SourceOrDefault(); got != FeedbackSourceUser {
		t.Errorf("SourceOrDefault() = %q, want %q", got, FeedbackSourceUser)
	}
}

func TestFeedbackRoundTrip(t *testing.T) {
	for _, path := range exampleFiles(t, "feedback/valid/*.json") {
		f, err := DecodeFeedback(readFile(t, path))
		if err != nil {
			t.Fatalf("DecodeFeedback(%s) = %v", path, err)
		}
		checkAccepted(t, "DecodeFeedback", readFile(t, path), f, DecodeFeedback)
	}
	// A thumbs down's value 0 must survive encoding: omitempty drops only an absent value.
	f, err := DecodeFeedback([]byte(validFeedbackJSON))
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"value":0`) {
		t.Errorf("Marshal(thumbs down) = %s, want value 0 kept", data)
	}
}

func FuzzDecodeFeedback(f *testing.F) {
	addSeeds(f, "feedback/valid/*.json", "feedback/invalid/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		fb, err := DecodeFeedback(data)
		if err != nil {
			if fb != nil {
				t.Fatalf("DecodeFeedback(%q) = %+v, %v, want a nil feedback with the error", data, fb, err)
			}
			checkRejection(t, "DecodeFeedback", data, err)
			return
		}
		checkAccepted(t, "DecodeFeedback", data, fb, DecodeFeedback)
	})
}

func TestFeedbackSchemaAgreesWithExamples(t *testing.T) {
	sch := compileSchema(t, feedbackSchema)
	for _, path := range exampleFiles(t, "feedback/valid/*.json") {
		parsed, err := schematest.Validate(t, sch, readFile(t, path))
		if !parsed || err != nil {
			t.Errorf("schema rejects %s, which the decoder accepts: parsed=%v %v", path, parsed, err)
		}
	}
	for _, path := range exampleFiles(t, "feedback/invalid/*.json") {
		field := expectedField(t, path)
		parsed, err := schematest.Validate(t, sch, readFile(t, path))
		if !parsed {
			continue // not JSON: only the decoder judges it
		}
		if err == nil {
			t.Errorf("schema accepts %s, which the decoder rejects (field %s)", path, field)
			continue
		}
		if field != "(feedback)" && !schematest.Names(err, field) {
			t.Errorf("schema rejects %s without naming %s:\n%v", path, field, err)
		}
	}
}

// TestFeedbackSchemaAgreesWithDecoder runs the decoder's table through the schema: each case
// either agrees or is a known difference listed here (and in the schema's description).
func TestFeedbackSchemaAgreesWithDecoder(t *testing.T) {
	sch := compileSchema(t, feedbackSchema)
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name                    string
		in                      string
		goAccepts, schemaAccept bool
	}{
		{"thumbs down", validFeedbackJSON, true, true},
		{"rating", feedbackWith(`"kind":"rating","value":7,"scale_min":0,"scale_max":10`), true, true},
		{"correction", feedbackWith(`"kind":"correction","correction":"x","source":"reviewer"`), true, true},
		{"label", feedbackWith(`"kind":"label","label":"fraud","predicted":"legit","source":"ground_truth"`), true, true},
		{"unused text empty", feedbackWith(`"kind":"thumbs","value":1,"label":""`), true, true},
		{"unused numbers null", feedbackWith(`"kind":"label","label":"a","value":null,"scale_min":null`), true, true},
		{"source null", feedbackWith(`"kind":"thumbs","value":1,"source":null`), true, true},

		{"empty object", `{}`, false, false},
		{"thumbs value 2", feedbackWith(`"kind":"thumbs","value":2`), false, false},
		{"thumbs value null", feedbackWith(`"kind":"thumbs","value":null`), false, false},
		{"thumbs without value", feedbackWith(`"kind":"thumbs"`), false, false},
		{"thumbs with scale", feedbackWith(`"kind":"thumbs","value":1,"scale_max":5`), false, false},
		{"rating without scale", feedbackWith(`"kind":"rating","value":3`), false, false},
		{"correction empty", feedbackWith(`"kind":"correction","correction":""`), false, false},
		{"correction with value", feedbackWith(`"kind":"correction","correction":"x","value":1`), false, false},
		{"label empty", feedbackWith(`"kind":"label","label":""`), false, false},
		{"label on thumbs", feedbackWith(`"kind":"thumbs","value":1,"label":"x"`), false, false},
		{"predicted on rating", feedbackWith(`"kind":"rating","value":3,"scale_min":1,"scale_max":5,"predicted":"x"`), false, false},
		{"kind unknown", feedbackWith(`"kind":"stars","value":1`), false, false},
		{"source unknown", feedbackWith(`"kind":"thumbs","value":1,"source":"bot"`), false, false},
		{"label of 129 characters", feedbackWith(`"kind":"label","label":"` + strings.Repeat("l", 129) + `"`), false, false},
		{"unknown field", feedbackWith(`"kind":"thumbs","value":1,"x":1`), false, false},

		// Known differences: relations between fields, the clock, byte lengths, duplicates.
		{"rating above its scale", feedbackWith(`"kind":"rating","value":6,"scale_min":1,"scale_max":5`), false, true},
		{"scale upside down", feedbackWith(`"kind":"rating","value":3,"scale_min":5,"scale_max":1`), false, true},
		{"timestamp 48h ahead", strings.Replace(validFeedbackJSON, "2026-11-26T09:16:40Z", future, 1), false, true},
		{"label of 43 three-byte characters", feedbackWith(`"kind":"label","label":"` + strings.Repeat("日", 43) + `"`), false, true},
		{"value twice", strings.TrimSuffix(validFeedbackJSON, "}") + `,"value":1}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, goErr := DecodeFeedback([]byte(tt.in))
			parsed, schErr := schematest.Validate(t, sch, []byte(tt.in))
			if !parsed {
				t.Fatalf("test input %q is not valid JSON", tt.in)
			}
			if (goErr == nil) != tt.goAccepts {
				t.Errorf("DecodeFeedback(%.200q) = %v, want accept=%v", tt.in, goErr, tt.goAccepts)
			}
			if (schErr == nil) != tt.schemaAccept {
				t.Errorf("schema on %.200q = %v, want accept=%v", tt.in, schErr, tt.schemaAccept)
			}
		})
	}
}

func TestFeedbackSchemaMatchesGoType(t *testing.T) {
	doc := loadSchemaDoc(t, feedbackSchema)
	props, _ := doc["properties"].(map[string]any)
	all, always := jsonFields(reflect.TypeFor[Feedback]())
	if got := sortedKeys(props); !slices.Equal(got, all) {
		t.Errorf("properties = %q, want the JSON fields of Feedback: %q", got, all)
	}
	if doc["additionalProperties"] != false {
		t.Errorf("additionalProperties = %v, want false", doc["additionalProperties"])
	}
	// Value is a pointer without omitempty semantics for zero: required only per kind.
	wantRequired := slices.DeleteFunc(slices.Clone(always), func(s string) bool { return s == "value" })
	if got := stringList(doc["required"]); !slices.Equal(got, wantRequired) {
		t.Errorf("required = %q, want %q", got, wantRequired)
	}
	for name, p := range props {
		if d, _ := p.(map[string]any)["description"].(string); d == "" {
			t.Errorf("property %s has no description", name)
		}
	}
	kinds := stringList(props["kind"].(map[string]any)["enum"])
	if want := []string{FeedbackCorrection, FeedbackLabel, FeedbackRating, FeedbackThumbs}; !slices.Equal(kinds, want) {
		t.Errorf("kind enum = %q, want %q", kinds, want)
	}
}

func BenchmarkDecodeFeedback(b *testing.B) {
	data := readFile(b, filepath.Join(examplesDir, "feedback/valid/thumbs_down.json"))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeFeedback(data); err != nil {
			b.Fatal(err)
		}
	}
}
