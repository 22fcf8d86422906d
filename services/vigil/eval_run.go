package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/store"
)

// runParams are a run's target settings, stored with the run (never a secret: the API key is
// read from the variable api_key_env names), so that --resume calls the same target the same way.
type runParams struct {
	BaseURL        string  `json:"base_url,omitempty"`
	APIKeyEnv      string  `json:"api_key_env,omitempty"`
	PromptTemplate string  `json:"prompt_template,omitempty"`
	PromptSHA256   string  `json:"prompt_sha256,omitempty"`
	Temperature    float64 `json:"temperature"`
	MaxTokens      int     `json:"max_tokens,omitempty"`
	URL            string  `json:"url,omitempty"`
	Cmd            string  `json:"cmd,omitempty"`
	Outputs        string  `json:"outputs,omitempty"`
	OutputsSHA256  string  `json:"outputs_sha256,omitempty"`
	Contracts      string  `json:"contracts,omitempty"`
}

// runFlags are the settings of `vigil eval run`.
type runFlags struct {
	dataset, app, feature, promptVersion, model, target string
	params                                              runParams
	concurrency, retries                                int
	backoff, timeout                                    time.Duration
	resume, runID                                       string
	set                                                 map[string]bool
}

func parseRunFlags(args []string, out io.Writer, contractsDir string) (*runFlags, error) {
	f := &runFlags{set: map[string]bool{}}
	fs := flagSet("eval run", out)
	fs.StringVar(&f.dataset, "dataset", "", "dataset NAME or NAME@VERSION (default: the latest version)")
	fs.StringVar(&f.app, "app", "", "application label of the scored events")
	fs.StringVar(&f.feature, "feature", "", "feature label (default: default)")
	fs.StringVar(&f.promptVersion, "prompt-version", "", "the prompt version under test")
	fs.StringVar(&f.model, "model", "", "model name (required for --target openai)")
	fs.StringVar(&f.target, "target", "", "openai, http or command (--outputs needs none)")
	fs.StringVar(&f.params.BaseURL, "base-url", "https://api.openai.com/v1", "openai: base URL of the chat-completions API")
	fs.StringVar(&f.params.APIKeyEnv, "api-key-env", "OPENAI_API_KEY", "openai: environment variable that holds the API key")
	fs.StringVar(&f.params.PromptTemplate, "prompt-template", "", "openai: prompt template file ({{.Input}}, [system]/[user] lines)")
	fs.Float64Var(&f.params.Temperature, "temperature", 0, "openai: sampling temperature")
	fs.IntVar(&f.params.MaxTokens, "max-tokens", 0, "openai: max_tokens of each completion (0: not sent)")
	fs.StringVar(&f.params.URL, "url", "", "http: endpoint that takes the case JSON and answers {\"output\": ...}")
	fs.StringVar(&f.params.Cmd, "cmd", "", "command: shell command that reads the case JSON on stdin and prints the output")
	fs.StringVar(&f.params.Outputs, "outputs", "", "JSONL file of {\"case_id\", \"output\"} produced elsewhere")
	fs.StringVar(&f.params.Contracts, "contracts", contractsDir, "directory of output contracts (JSON Schemas) for json_schema")
	fs.IntVar(&f.concurrency, "concurrency", 4, "cases in flight at once")
	fs.IntVar(&f.retries, "retries", 3, "retries of a case after 429, 5xx, timeouts and dropped connections")
	fs.DurationVar(&f.backoff, "backoff", time.Second, "wait before the first retry; doubles each time")
	fs.DurationVar(&f.timeout, "timeout", time.Minute, "time limit of one attempt")
	fs.StringVar(&f.resume, "resume", "", "finish this run: call only the cases without a result")
	fs.StringVar(&f.runID, "run-id", "", "id of the new run (default: run-<time>-<random>)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, fmt.Errorf("eval run: unexpected argument %q", pos[0])
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f, nil
}

// validate reports every bad setting of a new run at once.
func (f *runFlags) validate() error {
	var errs []error
	if f.dataset == "" {
		errs = append(errs, errors.New("--dataset is required"))
	} else if _, _, err := eval.ParseRef(f.dataset); err != nil {
		errs = append(errs, err)
	}
	// The labels become event labels: the event contract decides what is valid.
	probe := event.Event{EventID: "e", Timestamp: time.Now(), App: f.app, Feature: f.feature, Model: cmp.Or(f.model, "m"), PromptVersion: f.promptVersion}
	var verr *event.ValidationError
	if err := probe.Validate(); errors.As(err, &verr) {
		for _, fe := range verr.Fields {
			errs = append(errs, fmt.Errorf("--%s: %s", strings.ReplaceAll(fe.Field, "_", "-"), fe.Reason))
		}
	}
	if f.promptVersion == "" {
		errs = append(errs, errors.New("--prompt-version is required: it is what runs are compared by"))
	}
	if f.params.Outputs != "" {
		if f.target != "" && f.target != "outputs" {
			errs = append(errs, fmt.Errorf("--outputs and --target %s: give one", f.target))
		}
		f.target = "outputs"
	}
	switch f.target {
	case "openai":
		if f.model == "" {
			errs = append(errs, errors.New("--target openai needs --model"))
		}
		if !strings.HasPrefix(f.params.BaseURL, "http://") && !strings.HasPrefix(f.params.BaseURL, "https://") {
			errs = append(errs, fmt.Errorf("--base-url %q: want an http(s) URL", f.params.BaseURL))
		}
	case "http":
		if !strings.HasPrefix(f.params.URL, "http://") && !strings.HasPrefix(f.params.URL, "https://") {
			errs = append(errs, fmt.Errorf("--target http needs --url, an http(s) URL (got %q)", f.params.URL))
		}
	case "command":
		if strings.TrimSpace(f.params.Cmd) == "" {
			errs = append(errs, errors.New("--target command needs --cmd"))
		}
	case "outputs":
	case "":
		errs = append(errs, errors.New("--target is required: openai, http or command (or give --outputs FILE)"))
	default:
		errs = append(errs, fmt.Errorf("--target %q: want openai, http or command", f.target))
	}
	if f.runID != "" && (len(f.runID) > 64 || (&eval.Case{ID: f.runID, Input: "x"}).Validate() != nil) {
		errs = append(errs, fmt.Errorf("--run-id %q: want 1 to 64 letters, digits and - _ . :", f.runID))
	}
	errs = append(errs, f.validateLimits())
	return errors.Join(errs...)
}

func (f *runFlags) validateLimits() error {
	var errs []error
	if f.concurrency < 1 || f.concurrency > 256 {
		errs = append(errs, fmt.Errorf("--concurrency %d: want 1 to 256", f.concurrency))
	}
	if f.retries < 0 || f.retries > 20 {
		errs = append(errs, fmt.Errorf("--retries %d: want 0 to 20", f.retries))
	}
	if f.timeout <= 0 || f.backoff < 0 {
		errs = append(errs, errors.New("--timeout must be positive and --backoff not negative"))
	}
	return errors.Join(errs...)
}

// mergeStored fills the settings of a resumed run from its stored state. A setting given again
// must equal the stored one: a resumed run calls the same target the same way.
func (f *runFlags) mergeStored(r *eval.Run) error {
	var p runParams
	if r.Params != "" {
		if err := json.Unmarshal([]byte(r.Params), &p); err != nil {
			return fmt.Errorf("decode settings of run %s: %w", r.ID, err)
		}
	}
	if f.set["outputs"] && !f.set["target"] {
		f.target = "outputs"
	}
	var conflicts []string
	check := func(flagName string, given, stored any) {
		if f.set[flagName] && fmt.Sprint(given) != fmt.Sprint(stored) {
			conflicts = append(conflicts, fmt.Sprintf("--%s %v (the run has %v)", flagName, given, stored))
		}
	}
	if f.set["dataset"] {
		name, version, err := eval.ParseRef(f.dataset)
		if err != nil || name != r.Dataset || version != 0 && version != r.Version {
			conflicts = append(conflicts, fmt.Sprintf("--dataset %s (the run has %s)", f.dataset, eval.Ref(r.Dataset, r.Version)))
		}
	}
	check("app", f.app, r.App)
	check("feature", f.feature, r.Feature)
	check("prompt-version", f.promptVersion, r.PromptVersion)
	check("model", f.model, r.Model)
	check("target", f.target, r.Target)
	check("base-url", f.params.BaseURL, p.BaseURL)
	check("api-key-env", f.params.APIKeyEnv, p.APIKeyEnv)
	check("prompt-template", f.params.PromptTemplate, p.PromptTemplate)
	check("temperature", f.params.Temperature, p.Temperature)
	check("max-tokens", f.params.MaxTokens, p.MaxTokens)
	check("url", f.params.URL, p.URL)
	check("cmd", f.params.Cmd, p.Cmd)
	check("outputs", f.params.Outputs, p.Outputs)
	check("contracts", f.params.Contracts, p.Contracts)
	if f.set["run-id"] {
		conflicts = append(conflicts, "--run-id (a resumed run keeps its id)")
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("resume %s: settings differ from the run's: %s; start a new run instead", r.ID, strings.Join(conflicts, ", "))
	}
	f.dataset, f.app, f.feature, f.promptVersion, f.model, f.target = eval.Ref(r.Dataset, r.Version), r.App, r.Feature, r.PromptVersion, r.Model, r.Target
	f.params = p
	return f.validateLimits()
}

func runEvalRun(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg, err := loadEvalConfig()
	if err != nil {
		return err
	}
	f, err := parseRunFlags(args, out, cfg.scorer.ContractsDir)
	if err != nil {
		return err
	}
	if f.resume == "" {
		if err := f.validate(); err != nil {
			return fmt.Errorf("eval run: %w", err)
		}
	}
	conn, err := openEvalStore(ctx, cfg.common)
	if err != nil {
		return err
	}
	defer conn.Close()

	var run *eval.Run
	if f.resume != "" {
		if run, err = store.Run(ctx, conn, f.resume); err != nil {
			return err
		}
		if err := f.mergeStored(run); err != nil {
			return err
		}
	}
	name, version, _ := eval.ParseRef(f.dataset)
	info, err := store.Dataset(ctx, conn, name, version)
	if err != nil {
		return err
	}
	cases, err := store.DatasetCases(ctx, conn, info.Name, info.Version)
	if err != nil {
		return err
	}
	if len(cases) != int(info.Cases) {
		return fmt.Errorf("%s lists %d cases but %d are stored", eval.Ref(info.Name, info.Version), info.Cases, len(cases))
	}
	tgt, err := f.buildTarget(run != nil)
	if err != nil {
		return err
	}
	contracts := scoring.NewContracts()
	if f.params.Contracts != "" {
		if err := contracts.LoadDir(f.params.Contracts); err != nil {
			return fmt.Errorf("load output contracts from %s: %w", f.params.Contracts, err)
		}
	}
	scorer, err := scoring.New(scoring.Options{Contracts: contracts})
	if err != nil {
		return err
	}

	pending := cases
	if run == nil {
		params, err := json.Marshal(f.params)
		if err != nil {
			return fmt.Errorf("encode run settings: %w", err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		id := f.runID
		if id == "" {
			id = eval.NewRunID(now, rand.Uint32())
		} else if _, err := store.Run(ctx, conn, id); err == nil {
			return fmt.Errorf("eval run %s exists; finish it with --resume %s or pick another --run-id", id, id)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		feature := f.feature
		if feature == "" {
			feature = event.DefaultFeature
		}
		model := f.model
		if model == "" {
			model = f.target
		}
		run = &eval.Run{ID: id, Dataset: info.Name, Version: info.Version, App: f.app, Feature: feature,
			PromptVersion: f.promptVersion, Model: model, Target: f.target, Params: string(params),
			StartedAt: now, Status: eval.StatusRunning, Cases: info.Cases}
		fmt.Fprintf(out, "run %s: %s (%d cases), app %s, feature %s, prompt %s, model %s, target %s\n", run.ID,
			eval.Ref(run.Dataset, run.Version), len(cases), run.App, run.Feature, run.PromptVersion, run.Model, run.Target)
	} else {
		done, err := store.FinishedCases(ctx, conn, run.ID)
		if err != nil {
			return err
		}
		pending = eval.Pending(cases, done)
		fmt.Fprintf(out, "resuming run %s: %d of %d cases have results, %d to go\n", run.ID, len(cases)-len(pending), len(cases), len(pending))
		run.Status, run.FinishedAt = eval.StatusRunning, time.Time{}
	}
	if err := store.InsertRun(ctx, conn, run); err != nil {
		return err
	}

	r := &runner{conn: conn, run: run, target: tgt, scorer: scorer, concurrency: f.concurrency,
		policy: retryPolicy{Attempts: f.retries + 1, Backoff: f.backoff, Timeout: f.timeout}, progress: newProgressLine(errOut)}
	start := time.Now()
	stored, failed, execErr := r.execute(ctx, pending)

	// The run's final state is recorded even when ctx was cancelled.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	results, rerr := store.Results(fctx, conn, run.ID)
	if rerr == nil {
		run.Summary = eval.Summarize(results)
	}
	ok := 0
	for _, res := range results {
		if res.Error == "" {
			ok++
		}
	}
	run.FinishedAt = time.Now().UTC()
	switch {
	case ctx.Err() != nil && execErr == nil:
		run.Status = eval.StatusInterrupted
	case execErr != nil || rerr != nil || ok < len(cases):
		run.Status = eval.StatusFailed
	default:
		run.Status = eval.StatusDone
	}
	if err := store.InsertRun(fctx, conn, run); err != nil {
		return errors.Join(execErr, err)
	}
	if execErr != nil {
		return fmt.Errorf("run %s: %w; resume with: vigil eval run --resume %s", run.ID, execErr, run.ID)
	}
	if rerr != nil {
		return rerr
	}
	if run.Status == eval.StatusInterrupted {
		return fmt.Errorf("run %s interrupted: %d of %d cases have results; resume with: vigil eval run --resume %s", run.ID, ok, len(cases), run.ID)
	}
	fmt.Fprintf(out, "run %s %s: %d cases in %s (%d called now, %d errors)\n", run.ID, run.Status, len(cases),
		time.Since(start).Round(time.Millisecond), stored, failed)
	printSummary(out, run.Summary)
	if run.Status != eval.StatusDone {
		return fmt.Errorf("run %s: %d of %d cases have no output (%d errors); resume with: vigil eval run --resume %s to retry them",
			run.ID, len(cases)-ok, len(cases), run.Summary.Errors, run.ID)
	}
	return nil
}

// buildTarget makes the target the flags describe. Resumed runs check that the template and
// outputs files still hold what the run started with.
func (f *runFlags) buildTarget(resumed bool) (target, error) {
	client := &http.Client{}
	switch f.target {
	case "openai":
		key := os.Getenv(f.params.APIKeyEnv)
		if key == "" && f.set["api-key-env"] {
			return nil, fmt.Errorf("--api-key-env %s: the variable is empty", f.params.APIKeyEnv)
		}
		t := &openAITarget{client: client, url: strings.TrimSuffix(f.params.BaseURL, "/") + "/chat/completions",
			apiKey: key, model: f.model, temperature: f.params.Temperature, maxTokens: f.params.MaxTokens}
		if f.params.PromptTemplate != "" {
			data, err := readFileLimited(f.params.PromptTemplate, 1<<20)
			if err != nil {
				return nil, fmt.Errorf("prompt template: %w", err)
			}
			if err := f.checkHash(&f.params.PromptSHA256, data, "prompt template "+f.params.PromptTemplate, resumed); err != nil {
				return nil, err
			}
			if t.prompt, err = eval.ParsePrompt(string(data)); err != nil {
				return nil, fmt.Errorf("%s: %w", f.params.PromptTemplate, err)
			}
		}
		return t, nil
	case "http":
		return &httpTarget{client: client, url: f.params.URL}, nil
	case "command":
		return &commandTarget{cmd: f.params.Cmd}, nil
	case "outputs":
		data, err := readFileLimited(f.params.Outputs, 1<<30)
		if err != nil {
			return nil, fmt.Errorf("outputs: %w", err)
		}
		if err := f.checkHash(&f.params.OutputsSHA256, data, "outputs file "+f.params.Outputs, resumed); err != nil {
			return nil, err
		}
		outputs, err := readOutputs(strings.NewReader(string(data)), f.params.Outputs)
		if err != nil {
			return nil, err
		}
		return &outputsTarget{file: f.params.Outputs, outputs: outputs}, nil
	}
	return nil, fmt.Errorf("unknown target %q", f.target)
}

func (f *runFlags) checkHash(stored *string, data []byte, what string, resumed bool) error {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	if resumed && *stored != "" && *stored != h {
		return fmt.Errorf("the %s changed since the run started; start a new run to test the change", what)
	}
	*stored = h
	return nil
}

// runner calls the target for each case with bounded concurrency, scores each output with the
// live checks and stores results as they finish.
type runner struct {
	conn        driver.Conn
	run         *eval.Run
	target      target
	scorer      *scoring.Scorer
	policy      retryPolicy
	concurrency int
	progress    *progressLine
}

// flushEvery bounds how long a finished result waits before it is stored, and flushSize how many
// are stored per insert.
const (
	flushEvery = 500 * time.Millisecond
	flushSize  = 200
)

// execute runs cases and returns how many results it stored and how many of them are errors.
// When ctx is cancelled it stops starting cases, abandons the calls in flight (they are called
// again on resume) and still stores every result that finished. A non-nil error means results
// could not be stored.
func (r *runner) execute(ctx context.Context, cases []eval.Case) (stored, failed int, err error) {
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	jobs := make(chan *eval.Case)
	results := make(chan eval.Result, 2*r.concurrency)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(jobs)
		for i := range cases {
			select {
			case jobs <- &cases[i]:
			case <-runCtx.Done():
				return
			}
		}
	})
	for range r.concurrency {
		wg.Go(func() {
			for c := range jobs {
				if res, ok := r.one(runCtx, c); ok {
					results <- res
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	start := time.Now()
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	var (
		batch    []eval.Result
		storeErr error
		done     int
	)
	flush := func() {
		if len(batch) == 0 || storeErr != nil {
			batch = batch[:0]
			return
		}
		// Finished results are stored even after an interrupt: they are what resume skips.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := insertWithRetry(sctx, r.conn, r.run, batch); err != nil {
			storeErr = err
			stop()
		} else {
			stored += len(batch)
			for _, res := range batch {
				if res.Error != "" {
					failed++
				}
			}
		}
		batch = batch[:0]
	}
	show := func(final bool) {
		r.progress.update(eval.Progress{Done: done, Total: len(cases), Errors: failed, Elapsed: time.Since(start)}.String(), final)
	}
	for {
		select {
		case res, ok := <-results:
			if !ok {
				flush()
				show(true)
				return stored, failed, storeErr
			}
			done++
			batch = append(batch, res)
			if len(batch) >= flushSize {
				flush()
			}
		case <-tick.C:
			flush()
			show(false)
		}
	}
}

// one calls the target for c and scores the output. It returns false when ctx was cancelled
// before the call finished: that case has no result yet.
func (r *runner) one(ctx context.Context, c *eval.Case) (eval.Result, bool) {
	if ctx.Err() != nil {
		return eval.Result{}, false
	}
	out, attempts, err := callWithRetry(ctx, r.target, c, r.policy)
	if err != nil && ctx.Err() != nil {
		return eval.Result{}, false
	}
	now := time.Now().UTC()
	res := eval.Result{RunID: r.run.ID, CaseID: c.ID, Tags: c.Tags, Attempts: attempts, FinishedAt: now}
	if err != nil {
		res.Error = shorten(err.Error(), 1000)
		return res, true
	}
	ev := eval.CaseEvent(r.run, c, out, now)
	res.Output, res.LatencyMS = out.Text, out.LatencyMS
	res.Scores = r.scorer.Score(ev, nil)
	return res, true
}

// insertWithRetry stores results, retrying transient ClickHouse errors with backoff until ctx
// ends.
func insertWithRetry(ctx context.Context, conn driver.Conn, run *eval.Run, results []eval.Result) error {
	wait := 200 * time.Millisecond
	for {
		err := store.InsertResults(ctx, conn, run, scoring.RulesVersion, results)
		if err == nil || store.IsPermanent(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// progressLine shows the progress of a run on a terminal, rewriting one line in place; on
// anything else (a CI log) it prints a line every few seconds.
type progressLine struct {
	w        io.Writer
	terminal bool
	last     time.Time
}

func newProgressLine(w io.Writer) *progressLine {
	p := &progressLine{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progressLine) update(line string, final bool) {
	switch {
	case p.terminal:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		if final {
			fmt.Fprintln(p.w)
		}
	case final || time.Since(p.last) >= 5*time.Second:
		fmt.Fprintln(p.w, line)
		p.last = time.Now()
	}
}

func printSummary(out io.Writer, s eval.Summary) {
	fmt.Fprintf(out, "%-22s %-8s %6s %10s %9s\n", "METRIC", "KIND", "N", "MEAN", "PASS")
	for _, m := range s.Metrics {
		fmt.Fprintf(out, "%-22s %-8s %6d %10.3f %9.3f\n", m.Metric, m.Kind, m.N, m.Mean, m.PassRate)
	}
}

func runEvalRuns(ctx context.Context, args []string, out io.Writer) error {
	fs := flagSet("eval runs", out)
	dataset := fs.String("dataset", "", "only runs of this dataset (NAME or NAME@VERSION)")
	limit := fs.Int("limit", 20, "list at most this many")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadEvalConfig()
	if err != nil {
		return err
	}
	var filter store.RunFilter
	if *dataset != "" {
		if filter.Dataset, filter.Version, err = eval.ParseRef(*dataset); err != nil {
			return err
		}
	}
	filter.Limit = *limit
	conn, err := openEvalStore(ctx, cfg.common)
	if err != nil {
		return err
	}
	defer conn.Close()
	runs, err := store.Runs(ctx, conn, filter)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-30s %-20s %-11s %-16s %-12s %-20s %7s %6s\n", "RUN", "STARTED", "STATUS", "DATASET", "PROMPT", "MODEL", "RESULTS", "ERRORS")
	for _, r := range runs {
		fmt.Fprintf(out, "%-30s %-20s %-11s %-16s %-12s %-20s %7d %6d\n", r.ID, r.StartedAt.UTC().Format("2006-01-02T15:04:05Z"),
			r.Status, eval.Ref(r.Dataset, r.Version), shorten(r.PromptVersion, 12), shorten(r.Model, 20), r.Summary.Results, r.Summary.Errors)
	}
	return nil
}
