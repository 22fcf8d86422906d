package event

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Feedback kinds: what a person (or a later process) said about a model call.
const (
	// FeedbackThumbs is a thumbs up (value 1) or down (value 0).
	FeedbackThumbs = "thumbs"
	// FeedbackRating is a rating value on the stated scale [scale_min, scale_max].
	FeedbackRating = "rating"
	// FeedbackCorrection is a corrected output written by the user or a reviewer.
	FeedbackCorrection = "correction"
	// FeedbackLabel is a ground-truth label, known later than the call (a chargeback, a
	// resolved ticket's category, a reviewer's verdict).
	FeedbackLabel = "label"
)

// Who gave the feedback.
const (
	FeedbackSourceUser        = "user"
	FeedbackSourceReviewer    = "reviewer"
	FeedbackSourceGroundTruth = "ground_truth"
)

// Limits of the feedback contract, mirrored in schemas/feedback.v1.schema.json.
const (
	// MaxFeedbackBytes is the largest encoded feedback accepted.
	MaxFeedbackBytes = 64 << 10
	// maxFeedbackText bounds correction and comment, in UTF-8 bytes.
	maxFeedbackText = 16 << 10
)

// Feedback attaches a user's feedback or a late ground-truth label to an earlier model call,
// event_id, as published by an application on vigil.feedback.<app>. The series labels are copied
// by the client from the call so that the feedback counts for the model and prompt version that
// answered; they are not looked up, and empty optional ones take the defaults an event takes.
type Feedback struct {
	FeedbackID    string    `json:"feedback_id"`
	EventID       string    `json:"event_id"`
	Timestamp     time.Time `json:"timestamp"`
	App           string    `json:"app"`
	Environment   string    `json:"environment,omitempty"`
	Feature       string    `json:"feature,omitempty"`
	Model         string    `json:"model"`
	PromptVersion string    `json:"prompt_version,omitempty"`
	Kind          string    `json:"kind"`
	// Value is 1 or 0 for thumbs, the rating for rating; absent for the other kinds.
	Value      *float64 `json:"value,omitempty"`
	ScaleMin   *float64 `json:"scale_min,omitempty"`
	ScaleMax   *float64 `json:"scale_max,omitempty"`
	Label      string   `json:"label,omitempty"`
	Predicted  string   `json:"predicted,omitempty"`
	Correction string   `json:"correction,omitempty"`
	Comment    string   `json:"comment,omitempty"`
	UserID     string   `json:"user_id,omitempty"`
	Source     string   `json:"source,omitempty"`
}

// Series returns the series of the call the feedback is about, with the defaults an event gets
// for empty optional labels.
func (f *Feedback) Series() Series {
	return Series{
		App:           f.App,
		Environment:   orDefault(f.Environment, DefaultEnvironment),
		Feature:       orDefault(f.Feature, DefaultFeature),
		Model:         f.Model,
		PromptVersion: orDefault(f.PromptVersion, DefaultPromptVersion),
	}
}

// SourceOrDefault returns who gave the feedback; absent means the end user.
func (f *Feedback) SourceOrDefault() string { return orDefault(f.Source, FeedbackSourceUser) }

// DecodeFeedback parses one v1 feedback strictly, by the rules of Decoder.Decode (unknown fields,
// keys in another case, keys given twice, wrong types, invalid UTF-8 and trailing data are
// rejected), and validates it. Every error is a *FieldError or a *ValidationError naming the
// field; "(feedback)" stands for the whole body. The result does not alias data.
func DecodeFeedback(data []byte) (*Feedback, error) {
	if len(data) > MaxFeedbackBytes {
		return nil, &FieldError{Field: "(feedback)", Reason: fmt.Sprintf("%d bytes exceeds the maximum feedback size of %d bytes", len(data), MaxFeedbackBytes), err: ErrTooLarge}
	}
	if !utf8.Valid(data) {
		return nil, asFeedbackError(invalidUTF8(data, topLevelKeys(data)))
	}
	var f Feedback
	if err := UnmarshalStrict(data, &f); err != nil {
		return nil, asFeedbackError(err)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// asFeedbackError names the whole body "(feedback)" in an error of the shared strict decoder.
func asFeedbackError(err error) error {
	var fe *FieldError
	if errors.As(err, &fe) && fe.Field == "(event)" {
		return &FieldError{Field: "(feedback)", Reason: fe.Reason, err: fe.err}
	}
	return err
}

// Validate checks the feedback against the v1 contract and reports every problem at once.
func (f *Feedback) Validate() error {
	var p problems
	checkID(&p, "feedback_id", f.FeedbackID)
	checkID(&p, "event_id", f.EventID)
	switch {
	case f.Timestamp.IsZero():
		p.add("timestamp", "required")
	case f.Timestamp.Before(minTimestamp):
		p.add("timestamp", "before 2000-01-01; send the time the feedback was given")
	case f.Timestamp.After(time.Now().Add(maxFutureSkew)):
		p.add("timestamp", "more than 24h in the future; check the sender's clock")
	}
	checkToken(&p, "app", f.App, true)
	checkToken(&p, "environment", f.Environment, false)
	checkLabel(&p, "feature", f.Feature)
	if f.Model == "" {
		p.add("model", "required; copy it from the call the feedback is about")
	} else {
		checkLabel(&p, "model", f.Model)
	}
	checkLabel(&p, "prompt_version", f.PromptVersion)
	checkLabel(&p, "user_id", f.UserID)
	checkText(&p, "comment", f.Comment)
	switch f.Source {
	case "", FeedbackSourceUser, FeedbackSourceReviewer, FeedbackSourceGroundTruth:
	default:
		p.add("source", fmt.Sprintf("%.40q is not one of user, reviewer, ground_truth", f.Source))
	}

	// Each kind takes its own fields and no others, so a client that mixes them up hears so.
	uses := map[string]bool{}
	switch f.Kind {
	case FeedbackThumbs:
		uses["value"] = true
		switch {
		case f.Value == nil:
			p.add("value", "required for kind thumbs: 1 (up) or 0 (down)")
		case *f.Value != 0 && *f.Value != 1:
			p.add("value", "kind thumbs takes 1 (up) or 0 (down)")
		}
	case FeedbackRating:
		uses["value"], uses["scale_min"], uses["scale_max"] = true, true, true
		if f.ScaleMin == nil {
			p.add("scale_min", "required for kind rating: the lowest rating of the scale, e.g. 1")
		}
		if f.ScaleMax == nil {
			p.add("scale_max", "required for kind rating: the highest rating of the scale, e.g. 5")
		}
		if f.ScaleMin != nil && f.ScaleMax != nil && !(*f.ScaleMin < *f.ScaleMax) {
			p.add("scale_max", "must be greater than scale_min")
		}
		switch {
		case f.Value == nil:
			p.add("value", "required for kind rating: the rating given")
		case f.ScaleMin != nil && f.ScaleMax != nil && (*f.Value < *f.ScaleMin || *f.Value > *f.ScaleMax):
			p.add("value", "must lie within [scale_min, scale_max]")
		}
	case FeedbackCorrection:
		uses["correction"] = true
		if f.Correction == "" {
			p.add("correction", "required for kind correction: the corrected output")
		}
		checkText(&p, "correction", f.Correction)
	case FeedbackLabel:
		uses["label"], uses["predicted"] = true, true
		if f.Label == "" {
			p.add("label", "required for kind label: the ground-truth label")
		}
		checkLabel(&p, "label", f.Label)
		checkLabel(&p, "predicted", f.Predicted)
	case "":
		p.add("kind", "required: one of thumbs, rating, correction, label")
	default:
		p.add("kind", fmt.Sprintf("%.40q is not one of thumbs, rating, correction, label", f.Kind))
	}
	if len(uses) > 0 { // a known kind: an unknown one is reported once, above
		set := map[string]bool{"value": f.Value != nil, "scale_min": f.ScaleMin != nil, "scale_max": f.ScaleMax != nil,
			"label": f.Label != "", "predicted": f.Predicted != "", "correction": f.Correction != ""}
		for _, field := range []string{"value", "scale_min", "scale_max", "label", "predicted", "correction"} {
			if set[field] && !uses[field] {
				p.add(field, fmt.Sprintf("not used by kind %.40q; leave it out", f.Kind))
			}
		}
	}
	// JSON cannot carry NaN or infinities; a Feedback built in Go can.
	for i, v := range []*float64{f.Value, f.ScaleMin, f.ScaleMax} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			p.add([]string{"value", "scale_min", "scale_max"}[i], "must be a finite number")
		}
	}
	return p.err()
}

func checkText(p *problems, field, v string) {
	if len(v) > maxFeedbackText {
		p.add(field, fmt.Sprintf("%d bytes exceeds the maximum of %d", len(v), maxFeedbackText))
	}
}
