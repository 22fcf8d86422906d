package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/event"
)

// target answers one case. Implementations are safe for concurrent use. An error that may clear
// on its own (429, 5xx, a timeout, a dropped connection) is a *retryableError.
type target interface {
	Call(ctx context.Context, c *eval.Case) (eval.Output, error)
}

// retryableError marks a failed call worth repeating; after, when set, is the wait the server
// asked for.
type retryableError struct {
	err   error
	after time.Duration
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// retryPolicy bounds the attempts of one case.
type retryPolicy struct {
	Attempts int           // total attempts, at least 1
	Backoff  time.Duration // wait before the second attempt; doubles each time
	Timeout  time.Duration // per attempt
}

// callWithRetry calls t until it succeeds, fails for good, or runs out of attempts, waiting
// with exponential backoff (full jitter) between attempts. It returns the attempts made. A
// cancelled ctx ends it at once with ctx's error.
func callWithRetry(ctx context.Context, t target, c *eval.Case, p retryPolicy) (eval.Output, int, error) {
	var err error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, p.Timeout)
		start := time.Now()
		var out eval.Output
		out, err = t.Call(actx, c)
		timedOut := actx.Err() == context.DeadlineExceeded
		cancel()
		if ctx.Err() != nil {
			return eval.Output{}, attempt, ctx.Err()
		}
		if err == nil {
			if out.LatencyMS == 0 {
				out.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
			}
			return out, attempt, nil
		}
		var rerr *retryableError
		if timedOut {
			err = &retryableError{err: fmt.Errorf("no answer within %v", p.Timeout)}
		}
		if !errors.As(err, &rerr) || attempt >= p.Attempts {
			if attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return eval.Output{}, attempt, err
		}
		wait := p.Backoff << (attempt - 1)
		wait = wait/2 + rand.N(wait/2+1)
		if rerr.after > wait {
			wait = min(rerr.after, time.Minute)
		}
		select {
		case <-ctx.Done():
			return eval.Output{}, attempt, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// classifyHTTP turns a non-2xx answer into an error: retryable for 408, 429 and 5xx.
func classifyHTTP(resp *http.Response, body []byte) error {
	msg := strings.TrimSpace(string(body))
	var apiErr struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &apiErr) == nil && apiErr.Error.Message != "" {
		msg = apiErr.Error.Message
	}
	err := fmt.Errorf("HTTP %d: %s", resp.StatusCode, shorten(msg, 200))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500 {
		var after time.Duration
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			after = time.Duration(s) * time.Second
		}
		return &retryableError{err: err, after: after}
	}
	return err
}

// transportError marks network failures retryable; ctx cancellation stays as is.
func transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &retryableError{err: err}
	}
	return err
}

// postJSON posts body and returns the answer's body when the status is 2xx.
func postJSON(ctx context.Context, client *http.Client, url string, header http.Header, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, classifyHTTP(resp, data)
	}
	return data, nil
}

// openAITarget speaks the OpenAI chat-completions protocol (also served by vLLM, Ollama,
// LiteLLM, llama.cpp and most gateways).
type openAITarget struct {
	client      *http.Client
	url         string
	apiKey      string
	model       string
	prompt      *eval.Prompt // nil: eval.DefaultMessages
	temperature float64
	maxTokens   int
}

type chatRequest struct {
	Model       string          `json:"model"`
	Messages    []event.Message `json:"messages"`
	Temperature float64         `json:"temperature"`
	MaxTokens   int             `json:"max_tokens,omitempty"`
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
	} `json:"usage"`
}

func (t *openAITarget) Call(ctx context.Context, c *eval.Case) (eval.Output, error) {
	msgs := eval.DefaultMessages(c)
	if t.prompt != nil {
		var err error
		if msgs, err = t.prompt.Render(c); err != nil {
			return eval.Output{}, err
		}
	}
	body, err := json.Marshal(chatRequest{Model: t.model, Messages: msgs, Temperature: t.temperature, MaxTokens: t.maxTokens})
	if err != nil {
		return eval.Output{}, fmt.Errorf("encode chat request: %w", err)
	}
	header := http.Header{}
	if t.apiKey != "" {
		header.Set("Authorization", "Bearer "+t.apiKey)
	}
	data, err := postJSON(ctx, t.client, t.url, header, body)
	if err != nil {
		return eval.Output{}, err
	}
	var resp chatResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return eval.Output{}, &retryableError{err: fmt.Errorf("decode chat completion: %w", err)}
	}
	if len(resp.Choices) == 0 {
		return eval.Output{}, errors.New("chat completion without choices")
	}
	ch := resp.Choices[0]
	out := eval.Output{FinishReason: ch.FinishReason, InputTokens: resp.Usage.PromptTokens, OutputTokens: resp.Usage.CompletionTokens}
	if ch.Message.Content != nil {
		out.Text = *ch.Message.Content
	}
	return out, nil
}

// httpTarget posts the case JSON to an endpoint of the application and reads {"output": ...}.
type httpTarget struct {
	client *http.Client
	url    string
}

type appAnswer struct {
	Output       *string `json:"output"`
	FinishReason string  `json:"finish_reason"`
}

func (t *httpTarget) Call(ctx context.Context, c *eval.Case) (eval.Output, error) {
	body, err := eval.MarshalCase(c)
	if err != nil {
		return eval.Output{}, err
	}
	data, err := postJSON(ctx, t.client, t.url, nil, body)
	if err != nil {
		return eval.Output{}, err
	}
	return decodeAnswer(data, "the answer of "+t.url)
}

func decodeAnswer(data []byte, what string) (eval.Output, error) {
	var a appAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return eval.Output{}, fmt.Errorf("decode %s: %w", what, err)
	}
	if a.Output == nil {
		return eval.Output{}, fmt.Errorf("%s has no \"output\" string", what)
	}
	return eval.Output{Text: *a.Output, FinishReason: a.FinishReason}, nil
}

// commandTarget runs a command per case (through sh -c) with the case JSON on stdin, and takes
// its standard output as the model's output. A non-zero exit is an error; a timeout is retried.
type commandTarget struct {
	cmd string
}

func (t *commandTarget) Call(ctx context.Context, c *eval.Case) (eval.Output, error) {
	body, err := eval.MarshalCase(c)
	if err != nil {
		return eval.Output{}, err
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", t.cmd)
	cmd.Stdin = bytes.NewReader(append(body, '\n'))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return eval.Output{}, ctx.Err()
		}
		return eval.Output{}, fmt.Errorf("command %q: %w: %s", shorten(t.cmd, 60), err, shorten(stderr.String(), 200))
	}
	return eval.Output{Text: strings.TrimRight(stdout.String(), "\r\n")}, nil
}

// outputsTarget answers from a file of outputs produced elsewhere: one {"case_id", "output"}
// object per line.
type outputsTarget struct {
	file    string
	outputs map[string]string
}

func (t *outputsTarget) Call(_ context.Context, c *eval.Case) (eval.Output, error) {
	out, ok := t.outputs[c.ID]
	if !ok {
		return eval.Output{}, fmt.Errorf("%s has no output for case %s", t.file, c.ID)
	}
	return eval.Output{Text: out}, nil
}

// readOutputs reads a JSONL file of {"case_id", "output"} strictly, naming the line of each
// problem.
func readOutputs(r io.Reader, file string) (map[string]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), eval.MaxLineBytes)
	outputs := map[string]string{}
	var problems []string
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var rec struct {
			CaseID *string `json:"case_id"`
			Output *string `json:"output"`
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		switch err := dec.Decode(&rec); {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s:%d: %v", file, line, err))
		case rec.CaseID == nil || *rec.CaseID == "":
			problems = append(problems, fmt.Sprintf("%s:%d: case_id: required", file, line))
		case rec.Output == nil:
			problems = append(problems, fmt.Sprintf("%s:%d: output: required", file, line))
		default:
			if _, dup := outputs[*rec.CaseID]; dup {
				problems = append(problems, fmt.Sprintf("%s:%d: case_id: %q appears twice", file, line, *rec.CaseID))
			}
			outputs[*rec.CaseID] = *rec.Output
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return outputs, nil
}

// readFileLimited reads a small input file (a template, an outputs file).
func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}
