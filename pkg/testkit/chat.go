package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// ChatRequest is a chat-completions request as a ChatServer received it.
type ChatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Temperature    *float64       `json:"temperature"`
	MaxTokens      int            `json:"max_tokens"`
	ResponseFormat map[string]any `json:"response_format"`
	// Authorization is the request's Authorization header.
	Authorization string `json:"-"`
}

// User returns the content of the last user message.
func (r ChatRequest) User() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

// ChatReply is how a ChatServer answers one request.
type ChatReply struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Content is the assistant message of a 200 answer.
	Content string
	// Body, when set, is sent as is instead of a chat completion built from Content.
	Body string
	// Header is added to the answer (Retry-After, for one).
	Header map[string]string
	// PromptTokens and CompletionTokens are reported as usage; both 0 leaves usage out.
	PromptTokens, CompletionTokens int64
	// Delay holds the answer back; the server gives up early when the client does.
	Delay time.Duration
}

// ChatFunc decides the reply to the n-th request (from 1). ctx ends when the client gives up or
// the server closes, so a function that blocks must watch it.
type ChatFunc func(ctx context.Context, n int, req ChatRequest) ChatReply

// ChatServer is a real local HTTP server that speaks the OpenAI chat-completions protocol
// (POST <URL>/chat/completions) and answers with what its ChatFunc returns. It records every
// request.
type ChatServer struct {
	// URL is the base URL a client is configured with, ending in /v1.
	URL string

	srv     *httptest.Server
	closing chan struct{}

	mu       sync.Mutex
	reply    ChatFunc
	requests []ChatRequest
}

// NewChatServer starts a chat-completions server answering with reply; it closes when the test
// ends.
func NewChatServer(tb testing.TB, reply ChatFunc) *ChatServer {
	tb.Helper()
	s := &ChatServer{reply: reply, closing: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/v1"
	var once sync.Once
	tb.Cleanup(func() {
		once.Do(func() { close(s.closing) })
		s.srv.Close()
	})
	return s
}

// SetReply changes how later requests are answered.
func (s *ChatServer) SetReply(reply ChatFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = reply
}

// Requests returns the requests received so far.
func (s *ChatServer) Requests() []ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ChatRequest(nil), s.requests...)
}

// Calls is the number of requests received so far.
func (s *ChatServer) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func (s *ChatServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	var req ChatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, fmt.Sprintf(`{"error":{"message":"bad request body: %v"}}`, err), http.StatusBadRequest)
		return
	}
	req.Authorization = r.Header.Get("Authorization")
	s.mu.Lock()
	s.requests = append(s.requests, req)
	n, reply := len(s.requests), s.reply
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	rep := reply(ctx, n, req)
	if rep.Delay > 0 {
		t := time.NewTimer(rep.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
	if ctx.Err() != nil {
		return
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	if rep.Status == 0 {
		rep.Status = http.StatusOK
	}
	body := rep.Body
	if body == "" && rep.Status == http.StatusOK {
		body = completion(n, req.Model, rep)
	}
	w.WriteHeader(rep.Status)
	_, _ = w.Write([]byte(body))
}

func completion(n int, model string, rep ChatReply) string {
	c := map[string]any{
		"id": fmt.Sprintf("chatcmpl-%d", n), "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"choices": []map[string]any{{
			"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": rep.Content},
		}},
	}
	if rep.PromptTokens > 0 || rep.CompletionTokens > 0 {
		c["usage"] = map[string]int64{
			"prompt_tokens": rep.PromptTokens, "completion_tokens": rep.CompletionTokens,
			"total_tokens": rep.PromptTokens + rep.CompletionTokens,
		}
	}
	b, _ := json.Marshal(c)
	return string(b)
}
