package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// chatServer is the model under test: a local server speaking the OpenAI chat-completions
// protocol that answers deterministically per case and prompt version. Prompt version 2 breaks
// the JSON contract of the cases tagged json (c01-c08) and refuses the refund questions
// (c09-c14); the other cases get the same answer from both versions.
type chatServer struct {
	*httptest.Server
	mu         sync.Mutex
	calls      int
	perCase    map[string]int
	answered   []string
	blockAfter int            // calls after this many wait until the client gives up (0: none)
	failFirst  map[string]int // case id → status of its first call
}

var caseMarker = regexp.MustCompile(`\[(c\d\d)\]`)

func newChatServer(t *testing.T) *chatServer {
	s := &chatServer{perCase: map[string]int{}, failFirst: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *chatServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer test-key" {
		http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
		return
	}
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) < 2 {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	system, user := req.Messages[0].Content, req.Messages[len(req.Messages)-1].Content
	m := caseMarker.FindStringSubmatch(user)
	if req.Messages[0].Role != "system" || m == nil {
		http.Error(w, `{"error":{"message":"unexpected prompt"}}`, http.StatusBadRequest)
		return
	}
	id := m[1]
	s.mu.Lock()
	s.calls++
	n := s.calls
	s.perCase[id]++
	first := s.perCase[id] == 1
	block := s.blockAfter > 0 && n > s.blockAfter
	status, fail := s.failFirst[id]
	s.mu.Unlock()
	if block {
		<-r.Context().Done()
		return
	}
	if fail && first {
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":{"message":"overloaded"}}`, status)
		return
	}
	answer := answerFor(id, strings.Contains(system, "Prompt version 2"))
	s.mu.Lock()
	s.answered = append(s.answered, id)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"chatcmpl-%s","object":"chat.completion","model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":12}}`,
		id, req.Model, answer)
}

func answerFor(id string, v2 bool) string {
	var n int
	fmt.Sscanf(id, "c%d", &n)
	switch {
	case n <= 8 && v2:
		return fmt.Sprintf(`Sure! Here is the answer: {answer: "Order %d ships tomorrow."}`, n)
	case n <= 8:
		return fmt.Sprintf(`{"answer": "Order %d ships tomorrow."}`, n)
	case n <= 14 && v2:
		return "I'm sorry, but I can't help with that request."
	case n <= 14:
		return fmt.Sprintf("Yes, order %d can be refunded within 30 days of delivery.", n)
	}
	return fmt.Sprintf("Product %d is a lightweight waterproof jacket with two zip pockets.", n)
}

func (s *chatServer) snapshot() (calls int, answered []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, slices.Clone(s.answered)
}

// evalFixture writes the golden set, the two prompt templates and the output contract, and
// points vigil at a fresh database.
type evalFixture struct {
	dir, dataset, v1, v2 string
	dsn                  string
}

func newEvalFixture(t *testing.T) *evalFixture {
	t.Helper()
	f := &evalFixture{dir: t.TempDir(), dsn: ch.Database(t)}
	t.Setenv("VIGIL_CLICKHOUSE_DSN", f.dsn)
	t.Setenv("EVAL_TEST_API_KEY", "test-key")
	contracts := filepath.Join(f.dir, "contracts")
	write(t, filepath.Join(contracts, "answer.json"),
		`{"type":"object","required":["answer"],"properties":{"answer":{"type":"string","minLength":1}}}`)
	t.Setenv("VIGIL_SCORER_CONTRACTS_DIR", contracts)
	var b strings.Builder
	for n := 1; n <= 30; n++ {
		var c eval.Case
		switch {
		case n <= 8:
			c = eval.Case{Input: fmt.Sprintf("[c%02d] When does order %d ship? Reply as JSON with an answer field.", n, n),
				OutputSchema: "answer", Tags: []string{"json", "orders"}}
		case n <= 14:
			c = eval.Case{Input: fmt.Sprintf("[c%02d] Can I get a refund for order %d?", n, n), Tags: []string{"refund"}}
		default:
			c = eval.Case{Input: fmt.Sprintf("[c%02d] Describe product %d.", n, n), Tags: []string{"product"}}
		}
		c.ID = fmt.Sprintf("c%02d", n)
		line, err := eval.MarshalCase(&c)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	f.dataset = filepath.Join(f.dir, "shop-faq.jsonl")
	write(t, f.dataset, b.String())
	f.v1 = filepath.Join(f.dir, "v1.tmpl")
	write(t, f.v1, "[system]\nYou are the shop assistant. Prompt version 1.\n[user]\n{{.Input}}\n")
	f.v2 = filepath.Join(f.dir, "v2.tmpl")
	write(t, f.v2, "[system]\nYou are the shop assistant. Prompt version 2: be concise.\n[user]\n{{.Input}}\n")
	return f
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// vigilEval runs `vigil eval ARGS` and returns its standard output and error output.
func vigilEval(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	var out, errOut syncBuffer
	err = runEval(ctx, args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustEval(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := vigilEval(context.Background(), args...)
	if err != nil {
		t.Fatalf("vigil eval %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

var runIDPattern = regexp.MustCompile(`(?m)^(?:run|resuming run) (run-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}|[A-Za-z0-9._:-]+):`)

func runID(t *testing.T, out string) string {
	t.Helper()
	m := runIDPattern.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no run id in output:\n%s", out)
	}
	return m[1]
}

func (f *evalFixture) runArgs(srv *chatServer, promptVersion, template string) []string {
	return []string{"run", "--dataset", "shop-faq", "--app", "shop", "--feature", "faq", "--prompt-version", promptVersion,
		"--target", "openai", "--base-url", srv.URL + "/v1", "--model", "test-model", "--api-key-env", "EVAL_TEST_API_KEY",
		"--prompt-template", template, "--concurrency", "4", "--backoff", "10ms"}
}

// gateFailures reads the metric and cases of each failure line the gate printed.
func gateFailures(out string) map[string][]string {
	got := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		metric, rest, ok := strings.Cut(line, " ")
		_, cases, found := strings.Cut(rest, "; cases: ")
		if !ok || !found || strings.HasPrefix(line, "warning") {
			continue
		}
		got[metric] = strings.Split(cases, ", ")
	}
	return got
}

func TestEvalPromptChangeIsGated(t *testing.T) {
	f := newEvalFixture(t)
	srv := newChatServer(t)
	srv.failFirst["c20"] = http.StatusTooManyRequests
	srv.failFirst["c21"] = http.StatusBadGateway

	if out := mustEval(t, "dataset", "add", f.dataset, "--name", "shop-faq"); !strings.Contains(out, "added shop-faq@1: 30 cases") {
		t.Fatalf("dataset add printed %q", out)
	}
	if out := mustEval(t, "dataset", "add", f.dataset, "--name", "shop-faq"); !strings.Contains(out, "shop-faq@1 already holds these 30 cases") {
		t.Errorf("adding the same file again printed %q, want no new version", out)
	}
	if out := mustEval(t, "dataset", "ls"); !regexp.MustCompile(`shop-faq\s+1\s+30\s`).MatchString(out) {
		t.Errorf("dataset ls printed %q", out)
	}
	if out := mustEval(t, "dataset", "show", "shop-faq@1"); !strings.Contains(out, "c09") || !strings.Contains(out, "refund") {
		t.Errorf("dataset show printed %q", out)
	}
	if out := mustEval(t, "dataset", "show", "shop-faq", "--jsonl"); out != string(readAll(t, f.dataset)) {
		t.Errorf("dataset show --jsonl printed\n%s\nwant the file as added", out)
	}

	out1, progress, err := vigilEval(context.Background(), f.runArgs(srv, "v1", f.v1)...)
	if err != nil {
		t.Fatalf("run v1: %v\n%s", err, out1)
	}
	base := runID(t, out1)
	if !strings.Contains(progress, "30/30 done, 0 errors") {
		t.Errorf("progress on stderr = %q, want a final 30/30 done line", progress)
	}
	if calls, _ := srv.snapshot(); calls != 32 {
		t.Errorf("server calls for 30 cases with two retried = %d, want 32", calls)
	}
	again := runID(t, mustEval(t, f.runArgs(srv, "v1", f.v1)...))
	cand := runID(t, mustEval(t, f.runArgs(srv, "v2", f.v2)...))

	// Version 2 against version 1: the gate fails and names exactly the degraded metrics and cases.
	var gateOut syncBuffer
	err = runEval(context.Background(), []string{"gate", "--baseline", base, "--candidate", cand}, &gateOut, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "gate failed") {
		t.Fatalf("gate v1 -> v2 = %v, want it to fail\n%s", err, gateOut.String())
	}
	jsonCases := []string{"c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08"}
	want := map[string][]string{
		"json_valid":  jsonCases,
		"json_schema": jsonCases,
		"refusal":     {"c09", "c10", "c11", "c12", "c13", "c14"},
	}
	if diff := cmp.Diff(want, gateFailures(gateOut.String())); diff != "" {
		t.Errorf("gate failures (-want +got):\n%s\noutput:\n%s", diff, gateOut.String())
	}
	if !strings.Contains(gateOut.String(), "FAIL: json_schema, json_valid, refusal dropped significantly") {
		t.Errorf("gate verdict line missing:\n%s", gateOut.String())
	}

	// Version 1 against itself: nothing to gate.
	out := mustEval(t, "gate", "--baseline", base, "--candidate", again)
	if !strings.Contains(out, "PASS: no metric dropped significantly") || len(gateFailures(out)) != 0 {
		t.Errorf("gate v1 -> v1 printed:\n%s", out)
	}
	// The baseline can be named by prompt version: the newest done v1 run.
	var latest syncBuffer
	if err := runEval(context.Background(), []string{"gate", "--baseline", "latest:v1", "--candidate", cand}, &latest, io.Discard); err == nil ||
		!strings.Contains(latest.String(), "baseline  "+again) {
		t.Errorf("gate --baseline latest:v1 = %v, want it to compare with %s and fail\n%s", err, again, latest.String())
	}

	cmpOut := mustEval(t, "compare", base, cand)
	for _, want := range []string{
		`30 shared cases`,
		`json_valid\s+check\s+8\s+1\.000\s+0\.000\s+-1\.000 \[-1\.000, -1\.000\] \*`,
		`refusal\s+check\s+30\s+1\.000\s+0\.800\s+-0\.200 \[-0\.\d+, -0\.\d+\] \*`,
		`non_empty\s+check\s+30\s+1\.000\s+1\.000\s+\+0\.000 \[\+0\.000, \+0\.000\]\s`,
		`passed in A, fail in B:`,
		`json_schema\s+c01, c02, c03, c04, c05, c06, c07, c08\n`,
	} {
		if !regexp.MustCompile(want).MatchString(cmpOut) {
			t.Errorf("compare output does not match %q:\n%s", want, cmpOut)
		}
	}

	ctx := context.Background()
	conn := testkit.Conn(t, f.dsn)
	results, err := store.Results(ctx, conn, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		wantAttempts := 1
		if r.CaseID == "c20" || r.CaseID == "c21" {
			wantAttempts = 2
		}
		if r.Attempts != wantAttempts || r.Error != "" {
			t.Errorf("result %s: attempts %d, error %q; want %d attempts and no error", r.CaseID, r.Attempts, r.Error, wantAttempts)
		}
	}
	// Eval results live in their own tables, with source eval, and never in the live series.
	var live, evalRows uint64
	var sources []string
	if err := conn.QueryRow(ctx, "SELECT count() FROM scores").Scan(&live); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(), groupUniqArray(source) FROM v_eval_results").Scan(&evalRows, &sources); err != nil {
		t.Fatal(err)
	}
	if live != 0 || evalRows == 0 || !slices.Equal(sources, []string{"eval"}) {
		t.Errorf("scores rows = %d, v_eval_results rows = %d with sources %q; want 0, >0 and [eval]", live, evalRows, sources)
	}
	rows, err := conn.Query(ctx, `SELECT prompt_version, pass_rate, status FROM v_eval_history
		WHERE dataset = 'shop-faq' AND metric = 'json_valid' ORDER BY started_at, run_id`)
	if err != nil {
		t.Fatal(err)
	}
	var history []string
	for rows.Next() {
		var pv, status string
		var rate float64
		if err := rows.Scan(&pv, &rate, &status); err != nil {
			t.Fatal(err)
		}
		history = append(history, fmt.Sprintf("%s %.2f %s", pv, rate, status))
	}
	rows.Close()
	slices.Sort(history)
	if diff := cmp.Diff([]string{"v1 1.00 done", "v1 1.00 done", "v2 0.00 done"}, history); diff != "" {
		t.Errorf("v_eval_history for json_valid (-want +got):\n%s", diff)
	}

	var runs syncBuffer
	if err := dispatch(ctx, []string{"eval", "runs", "--dataset", "shop-faq"}, &runs); err != nil || strings.Count(runs.String(), " done ") != 3 {
		t.Errorf("vigil eval runs = %v\n%s", err, runs.String())
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEvalRunResumesWithoutRepeatingCalls(t *testing.T) {
	f := newEvalFixture(t)
	srv := newChatServer(t)
	srv.blockAfter = 10
	mustEval(t, "dataset", "add", f.dataset, "--name", "shop-faq")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args := append(f.runArgs(srv, "v1", f.v1), "--concurrency", "3")
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- runEval(ctx, args, &out, &errOut) }()
	// Ten answers, then each of the three workers waits on a call that never answers.
	testkit.Eventually(t, 30*time.Second, func() bool { calls, _ := srv.snapshot(); return calls == 13 },
		"the run did not reach 13 calls; output:\n%s", out.String())
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not stop within 30s of the interrupt")
	}
	id := runID(t, out.String())
	if err == nil || !strings.Contains(err.Error(), "interrupted: 10 of 30 cases have results; resume with: vigil eval run --resume "+id) {
		t.Fatalf("interrupted run returned %v, want it to say 10 of 30 and how to resume", err)
	}
	_, answered := srv.snapshot()
	conn := testkit.Conn(t, f.dsn)
	bg := context.Background()
	stored, err := store.FinishedCases(bg, conn, id)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(answered)
	if diff := cmp.Diff(answered, sortedKeys(stored)); diff != "" {
		t.Fatalf("stored results (-answered +stored):\n%s", diff)
	}
	if r, err := store.Run(bg, conn, id); err != nil || r.Status != eval.StatusInterrupted {
		t.Errorf("run %s after the interrupt = %+v, %v; want status interrupted", id, r, err)
	}

	// Resume with nothing but the id: the stored settings call the same target the same way.
	srv.mu.Lock()
	srv.blockAfter, srv.calls, srv.answered, srv.perCase = 0, 0, nil, map[string]int{}
	srv.mu.Unlock()
	resumed := mustEval(t, "run", "--resume", id)
	if !strings.Contains(resumed, "resuming run "+id+": 10 of 30 cases have results, 20 to go") ||
		!strings.Contains(resumed, "run "+id+" done: 30 cases") {
		t.Errorf("resume printed:\n%s", resumed)
	}
	calls, again := srv.snapshot()
	if calls != 20 {
		t.Errorf("calls on resume = %d, want 20 (the cases without a result)", calls)
	}
	for _, c := range again {
		if stored[c] {
			t.Errorf("resume called the server again for %s, which had a result", c)
		}
	}
	srv.mu.Lock()
	for c, n := range srv.perCase {
		if n != 1 {
			t.Errorf("resume called %s %d times", c, n)
		}
	}
	srv.mu.Unlock()
	results, err := store.Results(bg, conn, id)
	if err != nil || len(results) != 30 {
		t.Fatalf("results after resume = %d, %v; want 30", len(results), err)
	}
	if r, err := store.Run(bg, conn, id); err != nil || r.Status != eval.StatusDone || r.Summary.Results != 30 {
		t.Errorf("run after resume = %+v, %v; want done with 30 results", r, err)
	}
	// A resumed run refuses settings that differ from the ones it started with.
	if _, _, err := vigilEval(bg, "run", "--resume", id, "--prompt-version", "v2"); err == nil || !strings.Contains(err.Error(), "--prompt-version v2 (the run has v1)") {
		t.Errorf("resume with another prompt version = %v, want a refusal naming it", err)
	}
	write(t, f.v1, "[system]\nchanged\n[user]\n{{.Input}}\n")
	if _, _, err := vigilEval(bg, "run", "--resume", id); err == nil || !strings.Contains(err.Error(), "changed since the run started") {
		t.Errorf("resume after the template changed = %v, want a refusal", err)
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestEvalOtherTargetsAndTraffic(t *testing.T) {
	f := newEvalFixture(t)
	mustEval(t, "dataset", "add", f.dataset, "--name", "shop-faq")
	bg := context.Background()
	conn := testkit.Conn(t, f.dsn)
	outputOf := func(id string) map[string]string {
		t.Helper()
		results, err := store.Results(bg, conn, id)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range results {
			if r.Error != "" {
				t.Errorf("run %s case %s: %s", id, r.CaseID, r.Error)
			}
			got[r.CaseID] = r.Output
		}
		return got
	}
	common := []string{"run", "--dataset", "shop-faq@1", "--app", "shop", "--feature", "faq"}

	// --outputs: answers produced elsewhere.
	var lines strings.Builder
	for n := 1; n <= 30; n++ {
		fmt.Fprintf(&lines, `{"case_id":"c%02d","output":%q}`+"\n", n, answerFor(fmt.Sprintf("c%02d", n), false))
	}
	outputs := filepath.Join(f.dir, "outputs.jsonl")
	write(t, outputs, lines.String())
	id := runID(t, mustEval(t, append(common, "--prompt-version", "v1", "--outputs", outputs)...))
	if got := outputOf(id); got["c01"] != `{"answer": "Order 1 ships tomorrow."}` || len(got) != 30 {
		t.Errorf("--outputs results: %d, c01 = %q", len(got), got["c01"])
	}

	// --target http: the application's endpoint gets the case JSON.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := eval.DecodeCase(readBody(r))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"output": answerFor(c.ID, false)})
	}))
	defer app.Close()
	id = runID(t, mustEval(t, append(common, "--prompt-version", "v1-http", "--target", "http", "--url", app.URL)...))
	if got := outputOf(id); got["c10"] != answerFor("c10", false) || len(got) != 30 {
		t.Errorf("--target http results: %d, c10 = %q", len(got), got["c10"])
	}

	// --target command: the case JSON on stdin, the output on stdout.
	id = runID(t, mustEval(t, append(common, "--prompt-version", "v1-cmd", "--target", "command",
		"--cmd", `sed -e 's/.*"id":"\([^"]*\)".*/echo: \1/'`)...))
	if got := outputOf(id); got["c07"] != "echo: c07" || len(got) != 30 {
		t.Errorf("--target command results: %d, c07 = %q", len(got), got["c07"])
	}

	// A dataset file with mistakes is rejected line by line, naming each field.
	bad := filepath.Join(f.dir, "bad.jsonl")
	write(t, bad, `{"id":"a","input":"x"}`+"\n"+`{"id":"b","input":"x","expected":42}`+"\n"+`{"id":"c"}`+"\n")
	out, _, err := vigilEval(bg, "dataset", "add", bad, "--name", "bad")
	if err == nil || !strings.Contains(out, "bad.jsonl:2: expected: wrong type: got JSON number, want string") ||
		!strings.Contains(out, "bad.jsonl:3: input: required") {
		t.Errorf("dataset add of a bad file = %v\n%s", err, out)
	}

	// from-traffic: live calls that failed a check and calls that passed, half and half.
	seedTraffic(t, conn)
	out = mustEval(t, "dataset", "from-traffic", "--app", "shop", "--feature", "faq", "--since", "1h", "--sample", "6", "--name", "shop-traffic")
	if !strings.Contains(out, "drew 6 calls of shop/faq") || !strings.Contains(out, "3 that failed a check, 3 that passed") ||
		!strings.Contains(out, "added shop-traffic@1: 6 cases") {
		t.Errorf("from-traffic printed:\n%s", out)
	}
	cases, err := store.DatasetCases(bg, conn, "shop-traffic", 1)
	if err != nil || len(cases) != 6 || !slices.Contains(cases[0].Tags, "traffic:failing") {
		t.Errorf("shop-traffic@1 = %+v, %v", cases, err)
	}
}

func readBody(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	return b
}

// seedTraffic stores live calls of shop/faq scored by the live checks, as the writer would:
// five refusals and five good answers.
func seedTraffic(t *testing.T, conn driver.Conn) {
	t.Helper()
	scorer, err := scoring.New(scoring.Options{Contracts: scoring.NewContracts()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	var events []*event.Event
	var records []*event.Scored
	for n := range 10 {
		ev := &event.Event{EventID: fmt.Sprintf("live-%02d", n), Timestamp: now.Add(-time.Duration(n) * time.Minute), App: "shop",
			Feature: "faq", Model: "m", PromptVersion: "v1", Input: fmt.Sprintf("Can I get a refund for order %d?", n),
			Output: answerFor("c10", n%2 == 0)}
		events = append(events, ev)
		records = append(records, &event.Scored{EventID: ev.EventID, Timestamp: ev.Timestamp, Series: ev.Series(),
			Source: scoring.Source, RulesVersion: scoring.RulesVersion, Scores: scorer.Score(ev, nil)})
	}
	if err := store.InsertModelCalls(context.Background(), conn, events); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertScores(context.Background(), conn, records); err != nil {
		t.Fatal(err)
	}
}
