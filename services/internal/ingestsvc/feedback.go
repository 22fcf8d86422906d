package ingestsvc

import (
	"net/http"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
)

// handleFeedback takes feedback (one JSON object, or NDJSON) as handleEvents takes events: same
// API keys, gzip, per-line rejections naming the field, and de-duplication by feedback_id; it
// publishes on vigil.feedback.<app>.
func (s *Server) handleFeedback(w http.ResponseWriter, r *http.Request) {
	s.handleLines(w, r, lineKind{route: "feedback", noun: "feedback", idField: "feedback_id", subject: stream.FeedbackSubject,
		decode: func(data []byte) (string, string, error) {
			f, err := event.DecodeFeedback(data)
			if err != nil {
				return "", "", err
			}
			return f.FeedbackID, f.App, nil
		}})
}
