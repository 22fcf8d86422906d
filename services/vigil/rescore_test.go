package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/rules"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/settings"
)

// TestRescoreCommand runs vigil rescore on events in the stream: a rules file, a version from
// the bucket's history, a dry run, a second run that stores nothing, and the rejections.
func TestRescoreCommand(t *testing.T) {
	ns := testkit.NATS(t)
	t.Setenv("VIGIL_NATS_URL", ns.ClientURL())
	t.Setenv("VIGIL_CLICKHOUSE_DSN", ch.Database(t))
	ctx := context.Background()
	var common config.Common
	if err := config.Load(settings.Known(), &common); err != nil {
		t.Fatal(err)
	}
	nc, js, err := app.Connect(ctx, common, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for i := range 3 {
		ev := &event.Event{EventID: fmt.Sprintf("r-%d", i), Timestamp: time.Now().UTC(), App: "shop", Model: "m",
			Output: "Your parcel arrives on Friday.", FinishReason: "stop"}
		data, err := event.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, stream.NewMsg(stream.EventsSubject("shop"), ev.EventID, data)); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := rules.OpenStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Put(ctx, &rules.Document{Version: "v1", Rules: []rules.Rule{{Name: "shop", Match: rules.Match{App: "shop"}, Checks: []rules.Check{{Check: "non_empty"}}}}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"version": "v2", "rules": [{"name": "shop", "match": {"app": "shop"},
		"checks": [{"check": "non_empty"}, {"check": "length_chars", "params": {"max": 20}}]}]}`)
	bad := write("bad.json", `{"version": "v3", "rules": [{"name": "shop", "checks": [{"check": "refusl"}]}]}`)
	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := runRescore(ctx, args, strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), err
	}

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"--since: required", "--rules, -f: give exactly one"}},
		{[]string{"--since", "1h", "--rules", "v1", "-f", good}, []string{"--rules, -f: give exactly one"}},
		{[]string{"--since", "yesterday", "--rules", "v1"}, []string{`--since "yesterday"`}},
		{[]string{"--since", "1h", "--until", "2h", "--rules", "v1"}, []string{"--until", "must be after --since"}},
		{[]string{"--since", "1h", "-f", bad}, []string{"bad.json", `checks[0].check: unknown check "refusl"`}},
		{[]string{"--since", "1h", "--rules", "v9"}, []string{`rules version "v9" is not in the history`, "it holds: v1"}},
	} {
		if _, _, err := run(tc.args...); err == nil {
			t.Errorf("rescore %q succeeded, want an error", tc.args)
		} else {
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("rescore %q error = %v, want it to name %q", tc.args, err, w)
				}
			}
		}
	}

	out, progress, err := run("--since", "1h", "-f", good)
	if err != nil || !strings.Contains(out, "rules v2") || !strings.Contains(out, "stored 3 score rows, 0 already stored") ||
		!strings.Contains(progress, "3/3 events read") {
		t.Fatalf("rescore -f good = %v\nout: %s\nstderr: %s", err, out, progress)
	}
	if out, _, err := run("--since", "1h", "-f", good); err != nil || !strings.Contains(out, "stored 0 score rows, 3 already stored") {
		t.Errorf("rescore -f good again = %v\n%s", err, out)
	}
	if out, _, err := run("--since", "1h", "--rules", "v1", "--dry-run"); err != nil || !strings.Contains(out, "would store (dry run) 3 score rows") {
		t.Errorf("rescore --rules v1 --dry-run = %v\n%s", err, out)
	}
	conn := testkit.Conn(t, common.ClickHouseDSN)
	var v1, v2 uint64
	if err := conn.QueryRow(ctx, "SELECT countIf(rules_version = 'v1'), countIf(rules_version = 'v2') FROM scores").Scan(&v1, &v2); err != nil {
		t.Fatal(err)
	}
	if v1 != 0 || v2 != 3 {
		t.Errorf("scores rows: v1 %d, v2 %d; want 0 (dry run) and 3", v1, v2)
	}
}
