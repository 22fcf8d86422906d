package judge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/testkit"
)

const testKey = "sk-test-do-not-log-0123456789"

// testJudge is a judge of the server at url with fast retries.
func testJudge(url string) Judge {
	return Judge{
		Name: "helpfulness", Endpoint: url, Model: "judge-model", APIKeyEnv: "JUDGE_TEST_KEY",
		Rubric:    "Does the answer resolve the question?\nQuestion: {{.Input}}\nAnswer: {{.Output}}",
		Threshold: 0.7, SampleRate: 1, Timeout: Duration(2 * time.Second), Retries: 2,
	}
}

type fixture struct {
	runner  *Runner
	metrics *Metrics
	reg     *prometheus.Registry
	log     *bytes.Buffer
}

func newFixture(t *testing.T, j Judge, opts Options) *fixture {
	t.Helper()
	t.Setenv("JUDGE_TEST_KEY", testKey)
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	opts.Metrics = m
	opts.Log = slog.New(slog.NewTextHandler(&log, nil))
	r, err := New(j, opts)
	if err != nil {
		t.Fatalf("New(%s) = %v", j.Name, err)
	}
	r.backoff = 10 * time.Millisecond
	return &fixture{runner: r, metrics: m, reg: reg, log: &log}
}

func (f *fixture) outcome(o string) float64 {
	return testutil.ToFloat64(f.metrics.calls.WithLabelValues(f.runner.j.Name, o))
}

func testEvent(i int) *event.Event {
	return &event.Event{
		EventID: fmt.Sprintf("e-%d", i), Timestamp: time.Now(), App: "shop", Model: "gpt-x",
		Input: fmt.Sprintf("When will order %d arrive?", i), Output: "It ships tomorrow.",
	}
}

func content(s string) testkit.ChatFunc {
	return func(context.Context, int, testkit.ChatRequest) testkit.ChatReply {
		return testkit.ChatReply{Content: s, PromptTokens: 100, CompletionTokens: 20}
	}
}

func TestScoreAnswers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reply   testkit.ChatReply
		want    event.Score
		err     string // part of the error; "" means success
		outcome string
	}{
		{name: "good answer", reply: testkit.ChatReply{Content: `{"label":"helpful","score":0.9,"explanation":"Answers the question directly."}`},
			want: event.Score{Metric: "judge_helpfulness", Kind: event.KindMeasure, Value: 0.9, Pass: true, Label: "helpful", Reason: "Answers the question directly."}, outcome: OutcomeOK},
		{name: "below threshold", reply: testkit.ChatReply{Content: `{"label":"vague","score":0.4,"explanation":"Does not say when."}`},
			want: event.Score{Metric: "judge_helpfulness", Kind: event.KindMeasure, Value: 0.4, Pass: false, Label: "vague", Reason: "Does not say when."}, outcome: OutcomeOK},
		{name: "fenced JSON", reply: testkit.ChatReply{Content: "Sure!\n```json\n{\"label\":\"helpful\",\"score\":0.7,\"explanation\":\"Fine.\"}\n```"},
			want: event.Score{Metric: "judge_helpfulness", Kind: event.KindMeasure, Value: 0.7, Pass: true, Label: "helpful", Reason: "Fine."}, outcome: OutcomeOK},
		{name: "long explanation cut", reply: testkit.ChatReply{Content: `{"label":"helpful","score":1,"explanation":"` + strings.Repeat("a", 400) + `"}`},
			want: event.Score{Metric: "judge_helpfulness", Kind: event.KindMeasure, Value: 1, Pass: true, Label: "helpful", Reason: strings.Repeat("a", 299) + "…"}, outcome: OutcomeOK},
		{name: "malformed JSON", reply: testkit.ChatReply{Content: `{"label":"helpful","score":0.9,`}, err: "malformed answer: no JSON object", outcome: OutcomeMalformed},
		{name: "score out of range", reply: testkit.ChatReply{Content: `{"label":"great","score":9,"explanation":"x"}`}, err: "score 9 outside 0..1", outcome: OutcomeMalformed},
		{name: "not a chat completion", reply: testkit.ChatReply{Body: `<html>gateway</html>`}, err: "not a chat completion", outcome: OutcomeMalformed},
		{name: "no choices", reply: testkit.ChatReply{Body: `{"choices":[]}`}, err: "no choices", outcome: OutcomeMalformed},
		{name: "refusal", reply: testkit.ChatReply{Body: `{"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't help with that."}}]}`}, err: "refused", outcome: OutcomeMalformed},
		{name: "content parts", reply: testkit.ChatReply{Body: `{"choices":[{"message":{"role":"assistant","content":[{"type":"text","text":"{\"score\":0.8,"},{"type":"text","text":"\"label\":\"ok\"}"}]}}]}`},
			want: event.Score{Metric: "judge_helpfulness", Kind: event.KindMeasure, Value: 0.8, Pass: true, Label: "ok"}, outcome: OutcomeOK},
		{name: "cut off by the token limit", reply: testkit.ChatReply{Body: `{"choices":[{"finish_reason":"length","message":{"content":"{\"label\":\"ok\",\"sco"}}]}`}, err: "cut off by the token limit", outcome: OutcomeMalformed},
		{name: "bad request", reply: testkit.ChatReply{Status: 400, Body: `{"error":{"message":"context length exceeded","type":"invalid_request_error"}}`},
			err: "HTTP 400: context length exceeded", outcome: OutcomeRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testkit.NewChatServer(t, func(context.Context, int, testkit.ChatRequest) testkit.ChatReply { return tc.reply })
			f := newFixture(t, testJudge(srv.URL), Options{})
			got, err := f.runner.Score(context.Background(), testEvent(1))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Score = %+v, %v, want an error containing %q", got, err, tc.err)
				}
				if Transient(err) {
					t.Errorf("Transient(%v) = true, want false: retrying cannot fix it", err)
				}
			} else {
				if err != nil {
					t.Fatalf("Score = %v, want %+v", err, tc.want)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Score (-want +got):\n%s", diff)
				}
			}
			if srv.Calls() != 1 {
				t.Errorf("endpoint got %d requests, want 1 (no retry of a definite answer)", srv.Calls())
			}
			if got := f.outcome(tc.outcome); got != 1 {
				t.Errorf("vigil_judge_calls_total{outcome=%q} = %v, want 1", tc.outcome, got)
			}
		})
	}
}

func TestRequestSpeaksChatCompletions(t *testing.T) {
	srv := testkit.NewChatServer(t, content(`{"label":"helpful","score":0.9,"explanation":"ok"}`))
	j := testJudge(srv.URL)
	j.MaxOutputTokens = 200
	f := newFixture(t, j, Options{})
	if _, err := f.runner.Score(context.Background(), testEvent(7)); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("endpoint got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Model != "judge-model" || r.Authorization != "Bearer "+testKey || r.MaxTokens != 200 {
		t.Errorf("request model %q, authorization %q, max_tokens %d", r.Model, r.Authorization, r.MaxTokens)
	}
	if r.Temperature == nil || *r.Temperature != 0 {
		t.Errorf("request temperature %v, want 0", r.Temperature)
	}
	if diff := cmp.Diff(map[string]any{"type": "json_object"}, r.ResponseFormat); diff != "" {
		t.Errorf("response_format (-want +got):\n%s", diff)
	}
	if len(r.Messages) != 2 || r.Messages[0].Role != "system" || r.Messages[0].Content != SystemPrompt {
		t.Errorf("messages %+v: want the system prompt, then the rubric", r.Messages)
	}
	if want := "Does the answer resolve the question?\nQuestion: When will order 7 arrive?\nAnswer: It ships tomorrow."; r.User() != want {
		t.Errorf("user prompt %q, want %q", r.User(), want)
	}
	if got := testutil.ToFloat64(f.metrics.tokens.WithLabelValues("helpfulness", "input")); got != 100 {
		t.Errorf("input tokens = %v, want the 100 the endpoint reported", got)
	}
}

func TestRetriesAServerErrorThenSucceeds(t *testing.T) {
	srv := testkit.NewChatServer(t, func(_ context.Context, n int, _ testkit.ChatRequest) testkit.ChatReply {
		if n == 1 {
			return testkit.ChatReply{Status: 500, Body: `{"error":{"message":"upstream overloaded"}}`}
		}
		return testkit.ChatReply{Content: `{"label":"helpful","score":0.8,"explanation":"ok"}`}
	})
	f := newFixture(t, testJudge(srv.URL), Options{})
	got, err := f.runner.Score(context.Background(), testEvent(1))
	if err != nil || got.Value != 0.8 {
		t.Fatalf("Score = %+v, %v, want 0.8 after a retry", got, err)
	}
	if srv.Calls() != 2 {
		t.Errorf("endpoint got %d requests, want 2", srv.Calls())
	}
	if r := testutil.ToFloat64(f.metrics.retries.WithLabelValues("helpfulness")); r != 1 {
		t.Errorf("vigil_judge_retries_total = %v, want 1", r)
	}
	if ok := f.outcome(OutcomeOK); ok != 1 {
		t.Errorf("ok outcomes = %v, want 1", ok)
	}
}

func TestServerErrorOnEveryAttemptIsTransient(t *testing.T) {
	srv := testkit.NewChatServer(t, func(context.Context, int, testkit.ChatRequest) testkit.ChatReply {
		return testkit.ChatReply{Status: 503, Body: "busy"}
	})
	f := newFixture(t, testJudge(srv.URL), Options{})
	_, err := f.runner.Score(context.Background(), testEvent(1))
	var st *StatusError
	if !errors.As(err, &st) || st.Status != 503 || !Transient(err) {
		t.Fatalf("Score = %v, want a transient *StatusError 503", err)
	}
	if srv.Calls() != 3 {
		t.Errorf("endpoint got %d requests, want 3 (1 + 2 retries)", srv.Calls())
	}
	if failed := f.outcome(OutcomeFailed); failed != 1 {
		t.Errorf("failed outcomes = %v, want 1", failed)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error shows the API key: %v", err)
	}
}

func TestRateLimitedAnswerWaitsForRetryAfter(t *testing.T) {
	srv := testkit.NewChatServer(t, func(_ context.Context, n int, _ testkit.ChatRequest) testkit.ChatReply {
		if n == 1 {
			return testkit.ChatReply{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: `{"error":{"message":"Rate limit reached"}}`}
		}
		return testkit.ChatReply{Content: `{"label":"helpful","score":0.75,"explanation":"ok"}`}
	})
	f := newFixture(t, testJudge(srv.URL), Options{})
	start := time.Now()
	got, err := f.runner.Score(context.Background(), testEvent(1))
	if err != nil || got.Value != 0.75 {
		t.Fatalf("Score = %+v, %v, want 0.75 after waiting", got, err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("retried after %v, want the 1s the endpoint asked for", waited)
	}
	if srv.Calls() != 2 {
		t.Errorf("endpoint got %d requests, want 2", srv.Calls())
	}
}

func TestRetryAfterBeyondAMinuteLeavesTheRetryToTheCaller(t *testing.T) {
	srv := testkit.NewChatServer(t, func(context.Context, int, testkit.ChatRequest) testkit.ChatReply {
		return testkit.ChatReply{Status: 429, Header: map[string]string{"Retry-After": "3600"}}
	})
	f := newFixture(t, testJudge(srv.URL), Options{})
	start := time.Now()
	_, err := f.runner.Score(context.Background(), testEvent(1))
	if !Transient(err) || time.Since(start) > time.Second || srv.Calls() != 1 {
		t.Errorf("Score = %v after %v and %d requests, want a transient error at once", err, time.Since(start), srv.Calls())
	}
}

func TestSlowAnswerTimesOut(t *testing.T) {
	srv := testkit.NewChatServer(t, func(context.Context, int, testkit.ChatRequest) testkit.ChatReply {
		return testkit.ChatReply{Delay: 5 * time.Second, Content: `{"score":1}`}
	})
	j := testJudge(srv.URL)
	j.Timeout, j.Retries = Duration(150*time.Millisecond), 1
	f := newFixture(t, j, Options{})
	start := time.Now()
	_, err := f.runner.Score(context.Background(), testEvent(1))
	var te *TimeoutError
	if !errors.As(err, &te) || !Transient(err) {
		t.Fatalf("Score = %v, want a transient *TimeoutError", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Score took %v, want about 2 × 150ms", took)
	}
	if srv.Calls() != 2 {
		t.Errorf("endpoint got %d requests, want 2", srv.Calls())
	}
	if n := testutil.CollectAndCount(f.metrics.duration); n != 1 {
		t.Errorf("request duration series = %d, want 1", n)
	}
}

func TestCallerCancellationStopsAtOnce(t *testing.T) {
	srv := testkit.NewChatServer(t, func(context.Context, int, testkit.ChatRequest) testkit.ChatReply {
		return testkit.ChatReply{Delay: 5 * time.Second}
	})
	f := newFixture(t, testJudge(srv.URL), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := f.runner.Score(ctx, testEvent(1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Score = %v, want the caller's context error", err)
	}
	for _, o := range outcomes {
		if got := f.outcome(o); got != 0 {
			t.Errorf("outcome %s = %v after the caller gave up, want 0", o, got)
		}
	}
}

func TestSpendCapPausesUntilTheNextUTCDay(t *testing.T) {
	srv := testkit.NewChatServer(t, func(context.Context, int, testkit.ChatRequest) testkit.ChatReply {
		return testkit.ChatReply{Content: `{"label":"helpful","score":0.9}`, PromptTokens: 600, CompletionTokens: 100}
	})
	j := testJudge(srv.URL)
	j.MaxUSDPerDay, j.PricePer1KInput, j.PricePer1KOutput = 1, 1, 1 // 0.7 USD a call
	now := time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, j, Options{Now: clock})
	ctx := context.Background()
	for i := 1; i <= 2; i++ {
		if _, err := f.runner.Score(ctx, testEvent(i)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	paused := func() float64 { return testutil.ToFloat64(f.metrics.paused.WithLabelValues("helpfulness")) }
	if got := paused(); got != 1 {
		t.Errorf("vigil_judge_paused = %v after spending 1.4 of 1 USD, want 1", got)
	}
	if _, err := f.runner.Score(ctx, testEvent(3)); !errors.Is(err, ErrOverBudget) || Transient(err) {
		t.Fatalf("third call = %v, want ErrOverBudget, not transient", err)
	}
	if srv.Calls() != 2 {
		t.Errorf("endpoint got %d requests, want 2: the cap stops the third", srv.Calls())
	}
	if got := testutil.ToFloat64(f.metrics.spend.WithLabelValues("helpfulness")); got < 1.39 || got > 1.41 {
		t.Errorf("vigil_judge_spend_usd_total = %v, want 1.4", got)
	}
	if !strings.Contains(f.log.String(), "judge paused") {
		t.Errorf("log %q does not say the judge paused", f.log.String())
	}

	mu.Lock()
	now = now.Add(time.Hour) // 00:00 UTC: a new day
	mu.Unlock()
	if _, err := f.runner.Score(ctx, testEvent(4)); err != nil {
		t.Fatalf("first call of the next day = %v, want it judged", err)
	}
	if got := paused(); got != 0 {
		t.Errorf("vigil_judge_paused = %v on the next day, want 0", got)
	}
	if got := testutil.ToFloat64(f.metrics.daySpend.WithLabelValues("helpfulness")); got < 0.69 || got > 0.71 {
		t.Errorf("vigil_judge_day_spend_usd = %v, want 0.7 (one call today)", got)
	}
	if got := f.outcome(OutcomeOverBudget); got != 1 {
		t.Errorf("over_budget outcomes = %v, want 1", got)
	}
}

func TestSpendWithoutReportedUsageIsEstimated(t *testing.T) {
	srv := testkit.NewChatServer(t, func(context.Context, int, testkit.ChatRequest) testkit.ChatReply {
		return testkit.ChatReply{Content: `{"score":0.9}`}
	})
	j := testJudge(srv.URL)
	j.MaxUSDPerDay, j.PricePer1KInput = 0.0001, 1
	f := newFixture(t, j, Options{})
	if _, err := f.runner.Score(context.Background(), testEvent(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner.Score(context.Background(), testEvent(2)); !errors.Is(err, ErrOverBudget) {
		t.Errorf("second call = %v, want ErrOverBudget from the estimated spend", err)
	}
	if got := testutil.ToFloat64(f.metrics.tokens.WithLabelValues("helpfulness", "input")); got < 50 {
		t.Errorf("estimated input tokens = %v, want about a quarter of the prompt's bytes", got)
	}
}

func TestRateCapSkipsWhatCannotWait(t *testing.T) {
	srv := testkit.NewChatServer(t, content(`{"label":"helpful","score":0.9}`))
	j := testJudge(srv.URL)
	j.MaxPerMinute, j.Timeout = 60, Duration(200*time.Millisecond) // one a second; a turn waits at most 200ms
	f := newFixture(t, j, Options{})
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.runner.Score(context.Background(), testEvent(i))
		}()
	}
	wg.Wait()
	ok, limited := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrRateLimited) && !Transient(err):
			limited++
		default:
			t.Errorf("Score = %v, want nil or ErrRateLimited", err)
		}
	}
	if ok != 1 || limited != 4 || srv.Calls() != 1 {
		t.Errorf("%d judged, %d rate-limited, %d requests; want 1, 4, 1", ok, limited, srv.Calls())
	}
	if got := f.outcome(OutcomeRateLimited); got != 4 {
		t.Errorf("rate_limited outcomes = %v, want 4", got)
	}
	time.Sleep(time.Second) // the next slot
	if _, err := f.runner.Score(context.Background(), testEvent(9)); err != nil {
		t.Errorf("Score a second later = %v, want it judged", err)
	}
}

func TestCacheHitAvoidsASecondCall(t *testing.T) {
	srv := testkit.NewChatServer(t, content(`{"label":"helpful","score":0.9,"explanation":"ok"}`))
	cache := NewCache(100)
	f := newFixture(t, testJudge(srv.URL), Options{Cache: cache})
	ctx := context.Background()
	first, err := f.runner.Score(ctx, testEvent(1))
	if err != nil {
		t.Fatal(err)
	}
	again := testEvent(1)
	again.EventID = "another-id-same-prompt"
	second, err := f.runner.Score(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("cached score differs (-first +second):\n%s", diff)
	}
	if srv.Calls() != 1 {
		t.Errorf("endpoint got %d requests, want 1", srv.Calls())
	}
	if hits := testutil.ToFloat64(f.metrics.cacheHits.WithLabelValues("helpfulness")); hits != 1 {
		t.Errorf("vigil_judge_cache_hits_total = %v, want 1", hits)
	}
	if _, err := f.runner.Score(ctx, testEvent(2)); err != nil || srv.Calls() != 2 {
		t.Errorf("another prompt: %v after %d requests, want a second request", err, srv.Calls())
	}

	// A changed rubric is a new version: the cached answer does not serve it.
	j := testJudge(srv.URL)
	j.Rubric += "\nBe strict."
	g := newFixture(t, j, Options{Cache: cache})
	if _, err := g.runner.Score(ctx, testEvent(1)); err != nil || srv.Calls() != 3 {
		t.Errorf("new rubric: %v after %d requests, want a third request", err, srv.Calls())
	}
}

func TestFailuresAreNotCached(t *testing.T) {
	srv := testkit.NewChatServer(t, content(`not json`))
	f := newFixture(t, testJudge(srv.URL), Options{Cache: NewCache(10)})
	for range 2 {
		if _, err := f.runner.Score(context.Background(), testEvent(1)); err == nil {
			t.Fatal("Score of a malformed answer = nil error")
		}
	}
	if srv.Calls() != 2 {
		t.Errorf("endpoint got %d requests, want 2", srv.Calls())
	}
}

func TestSelectCountsDecisions(t *testing.T) {
	j := testJudge("http://127.0.0.1:1/v1")
	j.SampleRate, j.Apps = 0.25, []string{"shop"}
	f := newFixture(t, j, Options{})
	sampled := 0
	for i := range 4000 {
		if f.runner.Select(testEvent(i)) {
			sampled++
		}
	}
	bank := testEvent(1)
	bank.App = "bank"
	if f.runner.Select(bank) {
		t.Error("Select(app bank) = true for a judge of shop")
	}
	count := func(d string) float64 { return testutil.ToFloat64(f.metrics.events.WithLabelValues("helpfulness", d)) }
	if count(DecisionSampled) != float64(sampled) || count(DecisionNotSampled) != float64(4000-sampled) || count(DecisionNotApplicable) != 1 {
		t.Errorf("decisions sampled %v, not_sampled %v, not_applicable %v; want %d, %d, 1",
			count(DecisionSampled), count(DecisionNotSampled), count(DecisionNotApplicable), sampled, 4000-sampled)
	}
	if sampled < 900 || sampled > 1100 {
		t.Errorf("sampled %d of 4000 at rate 0.25", sampled)
	}
}

func TestNewChecksTheJudge(t *testing.T) {
	t.Setenv("JUDGE_TEST_KEY", "")
	_, err := New(testJudge("http://127.0.0.1:1/v1"), Options{})
	if err == nil || !strings.Contains(err.Error(), "JUDGE_TEST_KEY is not set") {
		t.Errorf("New without the API key = %v, want an error naming the variable", err)
	}
}

func TestMetricsLint(t *testing.T) {
	srv := testkit.NewChatServer(t, content(`{"label":"helpful","score":0.9}`))
	f := newFixture(t, testJudge(srv.URL), Options{})
	if _, err := f.runner.Score(context.Background(), testEvent(1)); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.GatherAndLint(f.reg); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint = %v, %v", problems, err)
	}
	if _, err := NewMetrics(f.reg); err == nil {
		t.Error("NewMetrics on a registry that has them = nil error")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"2", 2 * time.Second}, {"0.5", 500 * time.Millisecond}, {"-1", 0}, {"soon", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := retryAfter(tc.in, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestMisconfiguredEndpointWaitsAndHidesTheKey(t *testing.T) {
	for _, status := range []int{401, 403, 404} {
		srv := testkit.NewChatServer(t, func(context.Context, int, testkit.ChatRequest) testkit.ChatReply {
			return testkit.ChatReply{Status: status, Body: `{"error":{"message":"Incorrect API key provided: ` + testKey + `"}}`}
		})
		f := newFixture(t, testJudge(srv.URL), Options{})
		_, err := f.runner.Score(context.Background(), testEvent(1))
		var st *StatusError
		if !errors.As(err, &st) || st.Status != status || !Transient(err) {
			t.Errorf("HTTP %d: Score = %v, want a transient *StatusError: judgements wait for the fix", status, err)
		}
		if srv.Calls() != 1 {
			t.Errorf("HTTP %d: endpoint got %d requests, want 1: retrying at once cannot help", status, srv.Calls())
		}
		if err != nil && strings.Contains(err.Error(), testKey) {
			t.Errorf("HTTP %d: error shows the API key: %v", status, err)
		}
		if got := f.outcome(OutcomeFailed); got != 1 {
			t.Errorf("HTTP %d: failed outcomes = %v, want 1", status, got)
		}
	}
}
