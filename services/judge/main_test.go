package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/judge"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/judgesvc"
	"github.com/vigilhq/vigil/services/internal/servicetest"
)

const apiKey = "sk-service-test-0123456789"

// writeJudges writes a judge file of js and returns its path.
func writeJudges(t *testing.T, js ...judge.Judge) (string, *judge.File) {
	t.Helper()
	f := &judge.File{Judges: js}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "judges.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return file, f
}

// grader answers like a judge that scores an output by whether it mentions shipping.
func grader(_ context.Context, _ int, req testkit.ChatRequest) testkit.ChatReply {
	if strings.Contains(req.User(), "shipped") {
		return testkit.ChatReply{Content: `{"label":"helpful","score":0.9,"explanation":"Says the order shipped."}`, PromptTokens: 120, CompletionTokens: 20}
	}
	return testkit.ChatReply{Content: "```json\n{\"label\":\"unhelpful\",\"score\":0.2,\"explanation\":\"Says nothing useful.\"}\n```", PromptTokens: 120, CompletionTokens: 20}
}

func TestJudgeServesScoresAndDrains(t *testing.T) {
	ns := testkit.NATS(t)
	chat := testkit.NewChatServer(t, grader)
	t.Setenv("JUDGE_SERVICE_TEST_KEY", apiKey)
	file, judges := writeJudges(t, judge.Judge{
		Name: "helpfulness", Endpoint: chat.URL, Model: "judge-model", APIKeyEnv: "JUDGE_SERVICE_TEST_KEY",
		Rubric:    "Is this answer helpful?\nQuestion: {{.Input}}\nAnswer: {{.Output}}",
		Threshold: 0.5, SampleRate: 0.5, Timeout: judge.Duration(5 * time.Second), Retries: 1, Apps: []string{"shop"},
	})
	svc := servicetest.Start(t, run, "VIGIL_JUDGE_ADMIN_ADDR", map[string]string{
		"VIGIL_NATS_URL": ns.ClientURL(), "VIGIL_JUDGE_CONFIG": file, "VIGIL_JUDGE_CONCURRENCY": "4", "VIGIL_JUDGE_BATCH_SIZE": "16",
	})

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	const n = 200
	var msgs []*nats.Msg
	want := map[string]float64{} // event id → expected score, for the sampled shop events
	for i := range n {
		// Distinct outputs: the same prompt twice would be answered from the cache.
		app, output := "shop", fmt.Sprintf("Your order %d shipped today.", i)
		if i%2 == 1 {
			output = fmt.Sprintf("I am not sure about order %d.", i)
		}
		if i%10 == 9 {
			app = "bank" // the judge applies to shop only
		}
		id := fmt.Sprintf("e%03d", i)
		body := fmt.Sprintf(`{"event_id":%q,"timestamp":"%s","app":%q,"model":"m","input":"Where is my order?","output":%q}`,
			id, time.Now().UTC().Format(time.RFC3339), app, output)
		msgs = append(msgs, stream.NewMsg(stream.EventsSubject(app), id, []byte(body)))
		if app == "shop" && judges.Judges[0].Sampled(id) {
			want[id] = map[bool]float64{true: 0.9, false: 0.2}[i%2 == 0]
		}
	}
	if err := stream.PublishAll(ctx, js, msgs); err != nil {
		t.Fatal(err)
	}
	if len(want) < 50 || len(want) > 130 {
		t.Fatalf("%d of %d shop events sampled at 0.5", len(want), n-n/10)
	}

	scored, _ := js.Stream(ctx, stream.Scored)
	testkit.Eventually(t, 30*time.Second, func() bool {
		info, err := scored.Info(ctx)
		return err == nil && info.State.Msgs == uint64(len(want))
	}, "SCORED never held the %d judge records", len(want))
	svc.CheckProbes(t, "vigil_judge_calls_total", "vigil_judge_request_duration_seconds", "vigil_judge_tokens_total",
		"vigil_judge_spend_usd_total", "vigil_judge_cache_hits_total", "vigil_judge_events_total", "vigil_judge_paused",
		`vigil_judge_calls_total{judge="helpfulness",outcome="ok"} `+fmt.Sprint(len(want)),
		`vigil_judge_events_total{decision="not_applicable",judge="helpfulness"} 20`,
		"vigil_stream_messages_total")

	records := testkit.StreamMessages(t, js, stream.Scored)
	if len(records) != len(want) {
		t.Fatalf("SCORED holds %d records, want %d", len(records), len(want))
	}
	for _, m := range records {
		rec, err := event.DecodeScored(m.Data())
		if err != nil {
			t.Fatalf("DecodeScored(%s) = %v", m.Data(), err)
		}
		score, sampled := want[rec.EventID]
		if !sampled {
			t.Errorf("record for %s, which the judge does not sample", rec.EventID)
			continue
		}
		if rec.Source != "judge" || rec.RulesVersion != judges.Version() || len(rec.Scores) != 1 {
			t.Errorf("record %s: source %q, rules_version %q, %d scores; want judge, %s, 1", rec.EventID, rec.Source, rec.RulesVersion, len(rec.Scores), judges.Version())
			continue
		}
		if s := rec.Scores[0]; s.Metric != "judge_helpfulness" || s.Kind != event.KindMeasure || s.Value != score || s.Pass != (score >= 0.5) || s.Reason == "" {
			t.Errorf("record %s: score %+v, want judge_helpfulness = %v", rec.EventID, s, score)
		}
		if id, want := m.Headers().Get(jetstream.MsgIDHeader), "scored:"+rec.EventID+":judge:"+judges.Version(); id != want {
			t.Errorf("Nats-Msg-Id %q, want %q", id, want)
		}
		if subj, want := m.Subject(), stream.ScoredSubject(rec.Series.Key(), 16); subj != want {
			t.Errorf("record %s on %s, want %s", rec.EventID, subj, want)
		}
	}
	for _, r := range chat.Requests() {
		if r.Authorization != "Bearer "+apiKey {
			t.Fatalf("request authorization %q, want the key from JUDGE_SERVICE_TEST_KEY", r.Authorization)
		}
	}

	if err := svc.Stop(t); err != nil {
		t.Fatalf("run returned %v after SIGTERM, want nil", err)
	}
	cons, err := js.Consumer(ctx, stream.Events, judgesvc.Durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("after drain: %d events ack-pending, %d pending; want 0, 0", info.NumAckPending, info.NumPending)
	}
}

func TestJudgeDrainsABatchInHand(t *testing.T) {
	ns := testkit.NATS(t)
	chat := testkit.NewChatServer(t, func(ctx context.Context, n int, req testkit.ChatRequest) testkit.ChatReply {
		rep := grader(ctx, n, req)
		rep.Delay = 300 * time.Millisecond
		return rep
	})
	file, _ := writeJudges(t, judge.Judge{
		Name: "helpfulness", Endpoint: chat.URL, Model: "judge-model", Rubric: "{{.Output}}", Threshold: 0.5, SampleRate: 1,
	})
	svc := servicetest.Start(t, run, "VIGIL_JUDGE_ADMIN_ADDR", map[string]string{
		"VIGIL_NATS_URL": ns.ClientURL(), "VIGIL_JUDGE_CONFIG": file, "VIGIL_JUDGE_CONCURRENCY": "2", "VIGIL_JUDGE_BATCH_SIZE": "8",
	})
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	var msgs []*nats.Msg
	for i := range 40 {
		body := fmt.Sprintf(`{"event_id":"d%d","timestamp":"%s","app":"shop","model":"m","output":"Your order shipped %d."}`, i, time.Now().UTC().Format(time.RFC3339), i)
		msgs = append(msgs, stream.NewMsg(stream.EventsSubject("shop"), fmt.Sprintf("d%d", i), []byte(body)))
	}
	if err := stream.PublishAll(ctx, js, msgs); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return chat.Calls() > 0 }, "the judge sent no request")
	// SIGTERM while requests are in flight: the batch in hand finishes and is acked.
	if err := svc.Stop(t); err != nil {
		t.Fatalf("run returned %v after SIGTERM, want nil", err)
	}
	cons, _ := js.Consumer(ctx, stream.Events, judgesvc.Durable)
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	scored, _ := js.Stream(ctx, stream.Scored)
	sinfo, _ := scored.Info(ctx)
	if info.NumAckPending != 0 {
		t.Errorf("after drain %d events are still ack-pending", info.NumAckPending)
	}
	if handled := 40 - info.NumPending; sinfo.State.Msgs != handled || handled == 0 {
		t.Errorf("SCORED holds %d records for %d handled events", sinfo.State.Msgs, handled)
	}
}

func TestRunRejectsBadConfiguration(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "judges.json")
	if err := os.WriteFile(bad, []byte(`{"judges":[{"name":"tone","endpoint":"http://127.0.0.1:1/v1","model":"m","rubric":"{{.Output}}","threshold":2,"sample_rate":1,"api_key_env":"JUDGE_UNSET_KEY"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JUDGE_UNSET_KEY", "")
	t.Setenv("VIGIL_JUDGE_CONFIG", bad)
	t.Setenv("VIGIL_JUDGE_CONCURRENCY", "0")
	t.Setenv("VIGIL_JUDGE_ACK_WAIT", "1s")
	err := run(context.Background())
	if err == nil {
		t.Fatal("run with a bad configuration = nil error")
	}
	for _, want := range []string{"VIGIL_JUDGE_CONCURRENCY=0", "VIGIL_JUDGE_ACK_WAIT=1s", "judges[0].threshold", "JUDGE_UNSET_KEY is not set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run = %v\nwant it to name %q", err, want)
		}
	}

	t.Setenv("VIGIL_JUDGE_CONFIG", "")
	if err := run(context.Background()); err == nil || !strings.Contains(err.Error(), "VIGIL_JUDGE_CONFIG: required") {
		t.Errorf("run without VIGIL_JUDGE_CONFIG = %v, want it to name the variable", err)
	}
}
