package judge

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"text/template"
	"time"

	"golang.org/x/time/rate"

	"github.com/vigilhq/vigil/pkg/event"
)

// maxReasonRunes bounds the explanation kept as a score's reason.
const maxReasonRunes = 300

// Options are what a Runner shares with the rest of its process; every field may be left zero.
type Options struct {
	// Client sends the requests; nil means a client of its own. Each request is bounded by the
	// judge's timeout whatever the client's.
	Client *http.Client
	// Cache holds answers across judges; nil caches nothing.
	Cache *Cache
	// Metrics counts calls, tokens and spend; nil counts nothing.
	Metrics *Metrics
	// Log gets one line when the judge pauses for its spend cap and one when it resumes; nil
	// logs nothing. The API key is never logged.
	Log *slog.Logger
	// Now is the clock of the spend cap's UTC day; nil means time.Now.
	Now func() time.Time
}

// Runner judges events with one Judge: it renders the rubric, consults the cache, keeps the rate
// and spend caps, calls the endpoint with retries and parses the answer. It is safe for
// concurrent use; the caps hold across all its callers in the process (each replica of a service
// has caps of its own).
type Runner struct {
	j       Judge
	version string
	rubric  *template.Template
	url     string
	apiKey  string
	client  *http.Client
	limiter *rate.Limiter // nil: no rate cap
	budget  budget
	cache   *Cache
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time
	// backoff is the first wait between attempts; it doubles up to maxBackoff.
	backoff time.Duration
}

const (
	defaultBackoff = 500 * time.Millisecond
	maxBackoff     = 10 * time.Second
)

// New validates j, reads its API key from the environment and returns its runner.
func New(j Judge, opts Options) (*Runner, error) {
	if err := j.Validate(); err != nil {
		return nil, fmt.Errorf("judge %s: %w", j.Name, err)
	}
	t, err := parseRubric(j.Rubric)
	if err != nil {
		return nil, fmt.Errorf("judge %s: rubric: %w", j.Name, err)
	}
	r := &Runner{
		j: j, version: j.Version(), rubric: t, url: j.URL(), client: opts.Client,
		budget: budget{limit: j.MaxUSDPerDay}, cache: opts.Cache, metrics: opts.Metrics, log: opts.Log, now: opts.Now,
		backoff: defaultBackoff,
	}
	if j.APIKeyEnv != "" {
		r.apiKey = os.Getenv(j.APIKeyEnv)
	}
	if r.client == nil {
		r.client = &http.Client{}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if j.MaxPerMinute > 0 {
		// A burst of one second's worth (at least one request) lets concurrent callers start
		// together without ever exceeding the per-minute cap by more than that second.
		burst := max(1, (j.MaxPerMinute+59)/60)
		r.limiter = rate.NewLimiter(rate.Limit(float64(j.MaxPerMinute)/60), burst)
	}
	r.metrics.init(j.Name)
	return r, nil
}

// Judge returns the configuration the runner was built from.
func (r *Runner) Judge() Judge { return r.j }

// Name is the judge's name.
func (r *Runner) Name() string { return r.j.Name }

// Version is the judge's Version.
func (r *Runner) Version() string { return r.version }

// Select reports whether the runner judges ev (see Judge.Applies and Judge.Sampled) and counts
// the decision in vigil_judge_events_total. Call it once per event.
func (r *Runner) Select(ev *event.Event) bool {
	switch {
	case !r.j.Applies(ev):
		r.metrics.decision(r.j.Name, DecisionNotApplicable)
		return false
	case !r.j.Sampled(ev.EventID):
		r.metrics.decision(r.j.Name, DecisionNotSampled)
		return false
	}
	r.metrics.decision(r.j.Name, DecisionSampled)
	return true
}

// Score judges ev and returns its score: metric judge_<name>, a measure whose value is the
// judge's score, passing at the threshold, labelled with the judge's label and explained by the
// judge's explanation (cut to 300 characters). It blocks for the request, retries included, at
// most about (retries + 1) × timeout plus backoff.
//
// On failure it returns no score and an error that Transient classifies: a transient one (the
// endpoint is down, slow, throttling, or refusing every request for a wrong key, URL or model) is
// worth retrying later; any other (*MalformedError, a *StatusError refusing this request,
// ErrRateLimited, ErrOverBudget) means this event goes unjudged. No error is ever turned into a
// score.
func (r *Runner) Score(ctx context.Context, ev *event.Event) (event.Score, error) {
	a, err := r.Answer(ctx, ev)
	if err != nil {
		return event.Score{}, err
	}
	return event.Score{
		Metric: r.j.Metric(), Kind: event.KindMeasure, Value: a.Score, Pass: a.Score >= r.j.Threshold,
		Label: a.Label, Reason: truncate(a.Explanation, maxReasonRunes),
	}, nil
}

// Answer judges ev and returns the verdict as the judge gave it; see Score.
func (r *Runner) Answer(ctx context.Context, ev *event.Event) (Answer, error) {
	var prompt strings.Builder
	if err := r.rubric.Execute(&prompt, NewPromptData(ev)); err != nil {
		r.metrics.outcome(r.j.Name, OutcomeRejected)
		return Answer{}, &permanentError{fmt.Errorf("judge: render rubric: %w", err)}
	}
	key := CacheKey{Judge: r.j.Name, Version: r.version, Prompt: sha256.Sum256([]byte(prompt.String()))}
	if a, ok := r.cache.Get(key); ok {
		r.metrics.cacheHit(r.j.Name)
		return a, nil
	}
	a, err := r.call(ctx, prompt.String())
	if err != nil && ctx.Err() != nil {
		return Answer{}, err // abandoned by the caller: no outcome to count
	}
	r.metrics.outcome(r.j.Name, outcomeOf(err))
	if err != nil {
		return Answer{}, err
	}
	r.cache.Put(key, a)
	return a, nil
}

// call asks the endpoint, retrying transient failures.
func (r *Runner) call(ctx context.Context, prompt string) (Answer, error) {
	if !r.budgetOpen() {
		return Answer{}, ErrOverBudget
	}
	body, err := json.Marshal(chatRequest{
		Model: r.j.Model,
		Messages: []chatMessage{
			{Role: "system", Content: SystemPrompt},
			{Role: "user", Content: prompt},
		},
		MaxTokens:      r.j.MaxOutputTokens,
		ResponseFormat: responseFormat{Type: "json_object"},
	})
	if err != nil {
		return Answer{}, &permanentError{fmt.Errorf("judge: encode request: %w", err)}
	}
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			r.metrics.retry(r.j.Name)
		}
		if err := r.turn(ctx); err != nil {
			if ctx.Err() != nil {
				return Answer{}, fmt.Errorf("judge: %w", ctx.Err())
			}
			if attempt == 0 {
				return Answer{}, ErrRateLimited
			}
			return Answer{}, last
		}
		rep, err := r.post(ctx, body, prompt)
		if rep.inTokens > 0 || rep.outTokens > 0 {
			r.spend(rep)
		}
		if err == nil {
			return r.parse(rep)
		}
		last = err
		if !retryNow(err) || attempt >= r.j.Retries || ctx.Err() != nil {
			return Answer{}, err
		}
		wait := r.backoffFor(attempt)
		var st *StatusError
		if errors.As(err, &st) && st.RetryAfter > wait {
			if st.RetryAfter > maxRetryAfter {
				return Answer{}, err
			}
			wait = st.RetryAfter
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return Answer{}, fmt.Errorf("judge: %w", ctx.Err())
		}
	}
}

func (r *Runner) parse(rep reply) (Answer, error) {
	a, err := ParseAnswer(rep.content)
	if err != nil && rep.finishReason == "length" {
		return Answer{}, malformed("answer cut off by the token limit")
	}
	return a, err
}

// backoffFor is the wait after the attempt-th attempt failed (0-based): exponential with jitter,
// so that concurrent callers do not retry in step.
func (r *Runner) backoffFor(attempt int) time.Duration {
	d := r.backoff
	for i := 0; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// turn waits for a request slot under the rate cap, at most the judge's timeout. It fails at
// once when the wait would be longer, without taking a slot.
func (r *Runner) turn(ctx context.Context) error {
	if r.limiter == nil {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, r.j.RequestTimeout())
	defer cancel()
	return r.limiter.Wait(wctx)
}

// budgetOpen reports whether today's spend is under the cap, updating the pause gauge and
// logging a pause or a resumption.
func (r *Runner) budgetOpen() bool {
	open, day, changed := r.budget.check(r.now())
	r.metrics.budget(r.j.Name, !open, day)
	if changed {
		if open {
			r.log.Info("judge resumed: a new UTC day began", "judge", r.j.Name)
		} else {
			r.log.Warn("judge paused until the next UTC day: daily spend cap reached", "judge", r.j.Name, "max_usd_per_day", r.j.MaxUSDPerDay, "spent_usd", day)
		}
	}
	return open
}

// spend counts an exchange's tokens and their price against today's cap.
func (r *Runner) spend(rep reply) {
	usd := float64(rep.inTokens)/1000*r.j.PricePer1KInput + float64(rep.outTokens)/1000*r.j.PricePer1KOutput
	day := r.budget.add(r.now(), usd)
	r.metrics.usage(r.j.Name, rep.inTokens, rep.outTokens, usd, day)
	r.budgetOpen()
}

// budget is the spend of the current UTC day against a cap.
type budget struct {
	limit float64 // 0: no cap

	mu     sync.Mutex
	day    int64 // start of the current UTC day, Unix seconds
	spent  float64
	paused bool
}

// check reports whether spending may go on at now, today's spend, and whether that answer
// differs from the previous one.
func (b *budget) check(now time.Time) (open bool, spent float64, changed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(now)
	paused := b.limit > 0 && b.spent >= b.limit
	changed = paused != b.paused
	b.paused = paused
	return !paused, b.spent, changed
}

// add counts usd spent at now and returns today's spend.
func (b *budget) add(now time.Time, usd float64) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(now)
	b.spent += usd
	return b.spent
}

func (b *budget) roll(now time.Time) {
	// Truncating to whole days counts from a UTC midnight, so this is the start of the UTC day.
	if day := now.Truncate(24 * time.Hour).Unix(); day != b.day {
		b.day, b.spent = day, 0
	}
}
