package ingestsvc

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/nats-io/nats.go"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
)

// maxErrors bounds the errors listed in one answer: a body of empty objects would otherwise
// produce an answer many times its size.
const maxErrors = 1000

// LineError is one rejection in an answer of POST /v1/events: the 0-based line of the body (0
// for a single event), the field, and the reason.
type LineError struct {
	Index  int    `json:"index"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// EventsResponse is the answer of POST /v1/events and POST /v1/feedback with status 200 or 400
// (every line rejected). Accepted and Rejected count events (or feedback); Errors may hold
// several entries for one line.
type EventsResponse struct {
	Accepted      int         `json:"accepted"`
	Rejected      int         `json:"rejected"`
	Errors        []LineError `json:"errors"`
	ErrorsOmitted int         `json:"errors_omitted,omitempty"`
}

// UnavailableResponse is the answer with status 503: JetStream did not store every valid event.
// Stored lists the lines that were stored (Accepted counts them), NotStored the valid lines that
// were not; sending the same body again is safe, as stored events are de-duplicated by event_id.
type UnavailableResponse struct {
	EventsResponse
	Stored    []int  `json:"stored"`
	NotStored []int  `json:"not_stored"`
	Error     string `json:"error"`
}

// ErrorResponse is the answer when the request as a whole is refused (400, 401, 413, 415).
type ErrorResponse struct {
	Error string `json:"error"`
}

type line struct {
	index int
	data  []byte
}

// splitLines cuts a body into events: NDJSON (one event a line; blank lines skipped) when
// ndjson is set or the body holds several lines that are not one JSON value, else one event.
func splitLines(body []byte, ndjson bool) []line {
	trimmed := bytes.Trim(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil
	}
	if !ndjson && (bytes.IndexByte(trimmed, '\n') < 0 || stdjson.Valid(trimmed)) {
		return []line{{0, trimmed}}
	}
	var out []line
	for i, l := range bytes.Split(body, []byte("\n")) {
		if l = bytes.Trim(l, " \t\r"); len(l) > 0 {
			out = append(out, line{i, l})
		}
	}
	return out
}

// lineKind is what one route of the line-oriented API accepts: events or feedback.
type lineKind struct {
	route   string // the metrics label
	noun    string // in answers: "event", "feedback"
	idField string // the idempotency key, the Nats-Msg-Id
	subject func(app string) string
	// decode validates one line and returns its id and app.
	decode func(data []byte) (id, app string, err error)
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	s.handleLines(w, r, lineKind{route: "events", noun: "event", idField: "event_id", subject: stream.EventsSubject,
		decode: func(data []byte) (string, string, error) {
			ev, err := s.dec.Decode(data)
			if err != nil {
				return "", "", err
			}
			return ev.EventID, ev.App, nil
		}})
}

// handleLines validates a body of one JSON object or NDJSON lines of kind k, rejects each bad line
// naming the field, and publishes the others on k's subject of the key's app, de-duplicated by id.
func (s *Server) handleLines(w http.ResponseWriter, r *http.Request, k lineKind) {
	app, why := s.authenticate(r)
	if app == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
		writeJSON(w, http.StatusUnauthorized, ErrorResponse{Error: why})
		return
	}
	var ndjson bool
	switch mt, ok := mediaType(r); {
	case !ok:
		writeJSON(w, http.StatusUnsupportedMediaType, ErrorResponse{Error: "malformed Content-Type; use application/json or application/x-ndjson"})
		return
	case mt == "application/x-ndjson" || mt == "application/ndjson":
		ndjson = true
	case mt == "application/json" || mt == "":
	default:
		writeJSON(w, http.StatusUnsupportedMediaType, ErrorResponse{Error: fmt.Sprintf("Content-Type %q is not supported; use application/json (one %s) or application/x-ndjson (one %s a line)", mt, k.noun, k.noun)})
		return
	}
	body, berr := s.readBody(w, r)
	if berr != nil {
		writeJSON(w, berr.status, ErrorResponse{Error: berr.msg})
		return
	}
	lines := splitLines(body, ndjson)
	if len(lines) == 0 {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "the body holds no " + k.noun})
		return
	}

	var resp EventsResponse
	reject := func(index int, field, reason string) {
		if len(resp.Errors) < maxErrors {
			resp.Errors = append(resp.Errors, LineError{Index: index, Field: field, Reason: reason})
		} else {
			resp.ErrorsOmitted++
		}
	}
	subject := k.subject(app)
	msgs := make([]*nats.Msg, 0, len(lines))
	indexes := make([]int, 0, len(lines))
	for _, l := range lines {
		id, lineApp, err := k.decode(l.data)
		if err != nil {
			resp.Rejected++
			for _, f := range fieldErrors(err) {
				reject(l.index, f.Field, f.Reason)
			}
			continue
		}
		if lineApp != app {
			resp.Rejected++
			reject(l.index, "app", fmt.Sprintf("%q is not the app of this API key (%q)", lineApp, app))
			continue
		}
		// The body's bytes are published as sent: the stages decode them with the same decoder.
		msgs = append(msgs, stream.NewMsg(subject, id, l.data))
		indexes = append(indexes, l.index)
	}
	if resp.Errors == nil {
		resp.Errors = []LineError{}
	}
	s.m.events.WithLabelValues(k.route, outcomeRejected).Add(float64(resp.Rejected))
	if len(msgs) == 0 {
		writeJSON(w, http.StatusBadRequest, resp)
		return
	}

	errs := publishEach(r.Context(), s.js, msgs)
	un := UnavailableResponse{Stored: []int{}, NotStored: []int{}}
	var firstErr error
	for i, err := range errs {
		if err != nil {
			un.NotStored = append(un.NotStored, indexes[i])
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		un.Stored = append(un.Stored, indexes[i])
	}
	resp.Accepted = len(un.Stored)
	s.m.events.WithLabelValues(k.route, outcomeAccepted).Add(float64(len(un.Stored)))
	if len(un.NotStored) == 0 {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	s.m.events.WithLabelValues(k.route, outcomeUnavailable).Add(float64(len(un.NotStored)))
	un.EventsResponse = resp
	un.Error = fmt.Sprintf("JetStream did not store %d of %d valid lines (%v); send them again after %v: lines already stored are de-duplicated by %s",
		len(un.NotStored), len(msgs), firstErr, retryAfter, k.idField)
	setRetryAfter(w)
	writeJSON(w, http.StatusServiceUnavailable, un)
}

// fieldErrors lists the fields a decoding error names.
func fieldErrors(err error) []*event.FieldError {
	var verr *event.ValidationError
	if errors.As(err, &verr) {
		return verr.Fields
	}
	var ferr *event.FieldError
	if errors.As(err, &ferr) {
		return []*event.FieldError{ferr}
	}
	return []*event.FieldError{{Field: "(event)", Reason: err.Error()}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = stdjson.NewEncoder(w).Encode(v) // a failed write means the client went away
}
