package clienttest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/ingestsvc"
	"github.com/vigilhq/vigil/services/internal/pipelinetest"
	"github.com/vigilhq/vigil/services/internal/servicetest"
	"github.com/vigilhq/vigil/services/internal/settings"
)

var ch *testkit.ClickHouse

func TestMain(m *testing.M) { os.Exit(testkit.MainWithClickHouse(m, &ch)) }

// clients is schemas/clients, seen from this package's directory.
var clients = filepath.Join("..", "..", "..", "schemas", "clients")

// shopKey is the ingest API key of app shop, the app every snippet publishes for.
const shopKey = "shop-key-0123456789abcdef"

// target is where a snippet sends its event: over NATS to the EVENTS stream, or over HTTP to the
// ingest service.
type target int

const (
	overNATS target = iota
	overHTTP
)

// tool is a program a snippet needs, with how to install it.
type tool struct{ name, install string }

var (
	goTool   = tool{"go", "install Go 1.26 from https://go.dev/dl/"}
	nodeTool = tool{"node", "apt-get install -y nodejs npm (Node.js 20 or later)"}
	npmTool  = tool{"npm", "apt-get install -y npm"}
	pyTool   = tool{"python3", "apt-get install -y python3"}
	curlTool = tool{"curl", "apt-get install -y curl"}
	natsTool = tool{"nats", "go install github.com/nats-io/natscli/nats@latest (and put $(go env GOPATH)/bin on PATH)"}
	ccTool   = tool{"cc", "apt-get install -y gcc libnats-dev"}
)

// need fails the test when a tool is missing: snippets are never skipped.
func need(t *testing.T, tools ...tool) {
	t.Helper()
	for _, tl := range tools {
		if _, err := exec.LookPath(tl.name); err != nil {
			t.Fatalf("%s not found on PATH; %s (or run .ci/run)", tl.name, tl.install)
		}
	}
}

// command runs name in dir with the target's environment variables and a bounded time, and
// returns its combined output; it fails the test with that output when the command fails.
func command(t *testing.T, env []string, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// copyFiles copies files of dir into a fresh temporary directory and returns it, so that
// building a snippet leaves nothing in the source tree.
func copyFiles(t *testing.T, dir string, files ...string) string {
	t.Helper()
	tmp := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

// TestClients runs each snippet with the event id as its argument and finds the event in
// v_model_calls, with its checks in v_scores.
func TestClients(t *testing.T) {
	for _, tc := range []struct {
		name  string
		to    target
		tools []tool
		// run runs the snippet and returns its output.
		run func(t *testing.T, env []string, id string) string
	}{
		{"go", overNATS, []tool{goTool}, func(t *testing.T, env []string, id string) string {
			return command(t, append(env, "GOWORK=off", "GOFLAGS=-mod=readonly"), filepath.Join(clients, "go"), "go", "run", ".", id)
		}},
		{"node", overNATS, []tool{nodeTool, npmTool}, func(t *testing.T, env []string, id string) string {
			dir := copyFiles(t, filepath.Join(clients, "node"), "package.json", "package-lock.json", "publish.mjs")
			out := command(t, env, dir, "npm", "ci", "--no-audit", "--no-fund")
			return out + command(t, env, dir, "node", "publish.mjs", id)
		}},
		{"nats", overNATS, []tool{natsTool}, func(t *testing.T, env []string, id string) string {
			return command(t, env, filepath.Join(clients, "nats"), "sh", "publish.sh", id)
		}},
		{"c", overNATS, []tool{ccTool}, func(t *testing.T, env []string, id string) string {
			bin := filepath.Join(t.TempDir(), "publish")
			out := command(t, env, filepath.Join(clients, "c"), "cc", "publish.c", "-lnats", "-o", bin)
			return out + command(t, env, filepath.Join(clients, "c"), bin, id)
		}},
		{"python", overHTTP, []tool{pyTool}, func(t *testing.T, env []string, id string) string {
			return command(t, env, filepath.Join(clients, "python"), "python3", "publish.py", id)
		}},
		{"curl", overHTTP, []tool{curlTool}, func(t *testing.T, env []string, id string) string {
			return command(t, env, filepath.Join(clients, "curl"), "sh", "publish.sh", id)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			need(t, tc.tools...)
			pl := pipelinetest.Start(t, ch)
			natsURL, conn := pl.NATSURL, pl.Conn
			var env []string
			switch tc.to {
			case overNATS:
				env = []string{"VIGIL_NATS_URL=" + natsURL}
			case overHTTP:
				env = []string{"VIGIL_INGEST_URL=" + startIngest(t, natsURL), "VIGIL_INGEST_KEY=" + shopKey}
			}
			id := fmt.Sprintf("client-%s-%d", tc.name, time.Now().UnixNano())
			out := tc.run(t, env, id)
			testkit.Eventually(t, 30*time.Second, func() bool {
				return count(t, conn, "SELECT count() FROM v_model_calls WHERE event_id = ?", id) == 1 &&
					count(t, conn, "SELECT count() FROM v_scores WHERE event_id = ?", id) > 0
			}, "event %s of the %s snippet is not in v_model_calls with its scores in v_scores; the snippet said:\n%s", id, tc.name, out)

			var appName, model, output string
			row := conn.QueryRow(context.Background(), "SELECT app, model, output FROM v_model_calls WHERE event_id = ?", id)
			if err := row.Scan(&appName, &model, &output); err != nil {
				t.Fatal(err)
			}
			if appName != "shop" || model != "gpt-4o-mini" || output != "Your order shipped yesterday." {
				t.Errorf("v_model_calls %s = app %q model %q output %q, want shop gpt-4o-mini %q",
					id, appName, model, output, "Your order shipped yesterday.")
			}
		})
	}
}

// TestFeedbackSnippet sends an event and then a user's thumbs-down on it with the curl snippets,
// and finds the feedback in v_feedback and as a failed feedback_thumbs_up score of that event.
func TestFeedbackSnippet(t *testing.T) {
	need(t, curlTool)
	pl := pipelinetest.Start(t, ch)
	env := []string{"VIGIL_INGEST_URL=" + startIngest(t, pl.NATSURL), "VIGIL_INGEST_KEY=" + shopKey}
	id := fmt.Sprintf("client-feedback-%d", time.Now().UnixNano())
	dir := filepath.Join(clients, "curl")
	out := command(t, env, dir, "sh", "publish.sh", id)
	out += command(t, env, dir, "sh", "feedback.sh", id, id+"-fb")
	testkit.Eventually(t, 30*time.Second, func() bool {
		return count(t, pl.Conn, "SELECT count() FROM v_feedback WHERE event_id = ? AND feedback_id = ? AND kind = 'thumbs' AND value = 0", id, id+"-fb") == 1 &&
			count(t, pl.Conn, "SELECT count() FROM v_scores WHERE event_id = ? AND source = 'feedback' AND metric = 'feedback_thumbs_up' AND pass = 0", id) == 1
	}, "feedback on %s is not in v_feedback with a failed feedback_thumbs_up score; the snippets said:\n%s", id, out)
}

// runIngest is the ingest service's run function (services/ingest), which a test outside its
// main package cannot call.
func runIngest(ctx context.Context) error { return ingestsvc.Run(ctx, settings.Known()) }

// startIngest runs the ingest service against NATS at natsURL with shopKey for app shop, and
// returns the API's base URL.
func startIngest(t *testing.T, natsURL string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	servicetest.Start(t, runIngest, "VIGIL_INGEST_ADMIN_ADDR", map[string]string{
		"VIGIL_NATS_URL": natsURL, "VIGIL_INGEST_ADDR": addr, "VIGIL_INGEST_API_KEYS": "shop:" + shopKey})
	return "http://" + addr
}

func count(t *testing.T, conn driver.Conn, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
