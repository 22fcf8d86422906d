package stream

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
)

// Delivered is a decoded message with what its delivery tells a stage.
type Delivered[T any] struct {
	Value T
	// Redelivered is true when JetStream delivered the message before without an ack: an
	// earlier attempt may have stored its output already.
	Redelivered bool
}

// WithDelivery wraps decode so that each element also says whether it was redelivered.
func WithDelivery[T any](decode DecodeFunc[T]) DecodeFunc[Delivered[T]] {
	return func(m jetstream.Msg) (Delivered[T], error) {
		v, err := decode(m)
		if err != nil {
			return Delivered[T]{}, err
		}
		d := Delivered[T]{Value: v}
		if del, ok := DeliveryOf(m); ok {
			d.Redelivered = del.Count > 1
		}
		return d, nil
	}
}

// EventDecoder decodes events from vigil.events.<app> and rejects a body whose app differs from
// its subject's, so one app can never pollute another's series.
func EventDecoder(d event.Decoder) DecodeFunc[*event.Event] {
	return func(m jetstream.Msg) (*event.Event, error) {
		ev, err := d.Decode(m.Data())
		if err != nil {
			return nil, err
		}
		subjectApp := strings.TrimPrefix(m.Subject(), EventsRoot+".")
		if subjectApp != ev.App {
			return nil, &event.FieldError{Field: "app", Reason: fmt.Sprintf("%q differs from the subject's app %q; publish on %s", ev.App, subjectApp, EventsSubject(ev.App))}
		}
		return ev, nil
	}
}

// FeedbackDecoder decodes feedback from vigil.feedback.<app> and rejects a body whose app differs
// from its subject's, as EventDecoder does for events.
func FeedbackDecoder(m jetstream.Msg) (*event.Feedback, error) {
	f, err := event.DecodeFeedback(m.Data())
	if err != nil {
		return nil, err
	}
	subjectApp := strings.TrimPrefix(m.Subject(), FeedbackRoot+".")
	if subjectApp != f.App {
		return nil, &event.FieldError{Field: "app", Reason: fmt.Sprintf("%q differs from the subject's app %q; publish on %s", f.App, subjectApp, FeedbackSubject(f.App))}
	}
	return f, nil
}

// AlertDecoder decodes alerts.
func AlertDecoder(m jetstream.Msg) (*event.Alert, error) { return event.DecodeAlert(m.Data()) }
