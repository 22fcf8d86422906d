package judge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Errors a judgement ends with besides *MalformedError and *StatusError.
var (
	// ErrRateLimited: no request slot under max_per_minute came within the judge's timeout.
	ErrRateLimited = errors.New("judge: request rate cap reached")
	// ErrOverBudget: the judge's max_usd_per_day is spent until the next UTC day.
	ErrOverBudget = errors.New("judge: daily spend cap reached")
)

// StatusError is an HTTP answer other than 2xx from a judge's endpoint.
type StatusError struct {
	Status int
	// Message is the endpoint's error message (OpenAI's error.message, else the start of the
	// body), cut short.
	Message string
	// RetryAfter is the endpoint's Retry-After, 0 when it sent none.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("judge: endpoint answered HTTP %d", e.Status)
	}
	return fmt.Sprintf("judge: endpoint answered HTTP %d: %s", e.Status, e.Message)
}

// TimeoutError is a request that got no complete answer within the judge's timeout.
type TimeoutError struct{ Timeout time.Duration }

func (e *TimeoutError) Error() string { return fmt.Sprintf("judge: no answer within %v", e.Timeout) }

// permanentError is a request that cannot be built; sending it again cannot help.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Transient reports whether err is a failure that sending the request again later may cure:
// network errors, timeouts, HTTP 408, 425, 429 and 5xx answers, and the answers of an endpoint
// that refuses every request until an operator fixes its configuration (HTTP 401, 403 and 404:
// a wrong key, URL or model), so that judgements wait instead of being lost. A malformed answer,
// a request refused for its content (another 4xx) and the caps are not transient: retrying them
// costs money or time for nothing.
func Transient(err error) bool {
	if err == nil || errors.Is(err, ErrRateLimited) || errors.Is(err, ErrOverBudget) {
		return false
	}
	var mal *MalformedError
	var perm *permanentError
	if errors.As(err, &mal) || errors.As(err, &perm) {
		return false
	}
	var st *StatusError
	if errors.As(err, &st) {
		return retryableStatus(st.Status) || misconfigured(st.Status)
	}
	return true
}

// retryableStatus is an answer worth sending the request again for at once, after a backoff.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooEarly || code == http.StatusTooManyRequests || code >= 500
}

// misconfigured is an answer that every request gets until the judge's configuration is fixed.
func misconfigured(code int) bool {
	return code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusNotFound
}

// retryNow reports whether a request that failed with err is sent again within the same call.
func retryNow(err error) bool {
	var st *StatusError
	if errors.As(err, &st) {
		return retryableStatus(st.Status)
	}
	return Transient(err)
}

// outcomeOf names the outcome label of a judgement that ended with err.
func outcomeOf(err error) string {
	var mal *MalformedError
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrRateLimited):
		return OutcomeRateLimited
	case errors.Is(err, ErrOverBudget):
		return OutcomeOverBudget
	case errors.As(err, &mal):
		return OutcomeMalformed
	case Transient(err):
		return OutcomeFailed
	}
	return OutcomeRejected
}

// The chat-completions protocol, as much of it as a judge uses.
type (
	chatRequest struct {
		Model          string         `json:"model"`
		Messages       []chatMessage  `json:"messages"`
		Temperature    float64        `json:"temperature"`
		MaxTokens      int            `json:"max_tokens,omitempty"`
		ResponseFormat responseFormat `json:"response_format"`
	}
	chatMessage struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	responseFormat struct {
		Type string `json:"type"`
	}
	chatResponse struct {
		Choices []struct {
			Message struct {
				Content json.RawMessage `json:"content"`
				Refusal *string         `json:"refusal"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
		} `json:"usage"`
	}
)

// maxResponseBytes bounds the body read from an endpoint.
const maxResponseBytes = 1 << 20

// reply is what one successful HTTP exchange produced.
type reply struct {
	content      string
	finishReason string
	inTokens     int64
	outTokens    int64
	estimated    bool // the endpoint reported no usage
}

// post sends one request and reads the answer. A 2xx answer returns a reply (its usage set even
// when the content is unusable, since the tokens were billed) and, when no content can be read
// from it, a *MalformedError.
func (r *Runner) post(ctx context.Context, body []byte, prompt string) (reply, error) {
	timeout := r.j.RequestTimeout()
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return reply{}, &permanentError{fmt.Errorf("judge: build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vigil-judge")
	if r.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.apiKey)
	}
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		r.metrics.request(r.j.Name, time.Since(start))
		return reply{}, r.transportError(ctx, actx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	r.metrics.request(r.j.Name, time.Since(start))
	if err != nil {
		return reply{}, r.transportError(ctx, actx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := errorMessage(data)
		if r.apiKey != "" {
			msg = strings.ReplaceAll(msg, r.apiKey, "[redacted]") // an endpoint may quote the key it refused
		}
		return reply{}, &StatusError{Status: resp.StatusCode, Message: msg, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	rep := reply{inTokens: estimateTokens(len(SystemPrompt) + len(prompt)), outTokens: estimateTokens(len(data)), estimated: true}
	if len(data) > maxResponseBytes {
		return rep, malformed("response larger than %d bytes", maxResponseBytes)
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil {
		return rep, malformed("response is not a chat completion: %s", jsonProblem(err))
	}
	content, cerr := contentOf(cr)
	rep.content = content
	rep.outTokens = estimateTokens(len(content))
	if len(cr.Choices) > 0 {
		rep.finishReason = cr.Choices[0].FinishReason
	}
	if u := cr.Usage; u != nil && (u.PromptTokens > 0 || u.CompletionTokens > 0) {
		rep.inTokens, rep.outTokens, rep.estimated = max(u.PromptTokens, 0), max(u.CompletionTokens, 0), false
	}
	return rep, cerr
}

// transportError classifies a failed exchange: the caller's cancellation, the attempt's timeout,
// or a network error.
func (r *Runner) transportError(ctx, actx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("judge: %w", ctx.Err())
	case actx.Err() != nil:
		return &TimeoutError{Timeout: r.j.RequestTimeout()}
	}
	// net/http strips any password from the URL in its errors.
	return fmt.Errorf("judge: post to the endpoint: %w", err)
}

// contentOf returns the text of the first choice: a string, or the text parts of a content array.
func contentOf(cr chatResponse) (string, error) {
	if len(cr.Choices) == 0 {
		return "", malformed("response has no choices")
	}
	msg := cr.Choices[0].Message
	if msg.Refusal != nil && *msg.Refusal != "" {
		return "", malformed("the model refused to answer")
	}
	raw := bytes.TrimSpace(msg.Content)
	if len(raw) == 0 || string(raw) == "null" {
		return "", malformed("response has no content")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", malformed("content is neither a string nor a list of parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" || p.Type == "" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// jsonProblem describes a decoding error without quoting the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s has the wrong type", typ.Field)
	}
	return "invalid JSON"
}

// errorMessage extracts an endpoint's error message: OpenAI's {"error": {"message": ...}}, else
// the start of the body, printable and short.
func errorMessage(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var obj struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &obj) == nil && obj.Message != "" {
			msg = obj.Message
		} else {
			_ = json.Unmarshal(e.Error, &msg)
		}
	}
	if msg == "" {
		msg = string(body)
	}
	msg = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, msg)
	return truncate(strings.Join(strings.Fields(msg), " "), 200)
}

// maxRetryAfter bounds how long a request waits on an endpoint's Retry-After; a longer one ends
// the attempts and leaves the retry to the caller.
const maxRetryAfter = time.Minute

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, 24*3600) * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// estimateTokens guesses the tokens of n bytes of text (about four bytes a token) for endpoints
// that report no usage, so that the spend cap still holds.
func estimateTokens(n int) int64 { return int64((n + 3) / 4) }
