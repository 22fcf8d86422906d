package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/rules"
	"github.com/vigilhq/vigil/pkg/testkit"
)

func TestRulesCommands(t *testing.T) {
	ns := testkit.NATS(t)
	t.Setenv("VIGIL_NATS_URL", ns.ClientURL())
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"version": "2026-11-27.1", "rules": [{"name": "support", "match": {"app": "shop", "feature": "support-*"},
		"checks": [{"check": "length_chars", "params": {"max": 2000}}], "defaults": true}]}`)
	bad := write("bad.json", `{"version": "2026-11-27.2", "rules": [
		{"name": "support", "match": {"app": "shop"}, "checks": [{"check": "length_chars", "params": {"max": "long"}}, {"check": "refusl"}]},
		{"name": "support", "match": {"feature": "["}, "checks": [{"check": "contains_any"}]}]}`)
	var out bytes.Buffer

	if err := dispatch(ctx, []string{"rules", "show"}, &out); err != nil || !strings.Contains(out.String(), "no rules stored") {
		t.Fatalf("rules show on an empty bucket = %v\n%s", err, out.String())
	}
	out.Reset()
	if err := dispatch(ctx, []string{"rules", "check", "-f", good}, &out); err != nil || !strings.Contains(out.String(), "2026-11-27.1 are valid") {
		t.Fatalf("rules check good = %v\n%s", err, out.String())
	}

	// check and apply of the bad document both list every error and store nothing.
	wantErrs := []string{
		`rules[0] "support": checks[0].params.max: `,
		`rules[0] "support": checks[1].check: unknown check "refusl"`,
		`rules[1] "support": name: also the name of rules[0]`,
		`rules[1] "support": match.feature: "[" is not a valid pattern`,
		`rules[1] "support": checks[0].params.phrases: required`,
		"with 5 errors",
	}
	for _, cmd := range []string{"check", "apply"} {
		err := dispatch(ctx, []string{"rules", cmd, "-f", bad}, &out)
		if err == nil {
			t.Fatalf("rules %s of an invalid document succeeded", cmd)
		}
		for _, want := range wantErrs {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("rules %s error lacks %q:\n%v", cmd, want, err)
			}
		}
	}
	out.Reset()
	if err := dispatch(ctx, []string{"rules", "show"}, &out); err != nil || !strings.Contains(out.String(), "no rules stored") {
		t.Fatalf("rules show after a rejected apply = %v\n%s", err, out.String())
	}

	out.Reset()
	if err := dispatch(ctx, []string{"rules", "apply", "-f", good}, &out); err != nil || !strings.Contains(out.String(), "rules 2026-11-27.1 applied") {
		t.Fatalf("rules apply good = %v\n%s", err, out.String())
	}
	out.Reset()
	if err := dispatch(ctx, []string{"rules", "apply", "-f", good}, &out); err != nil || !strings.Contains(out.String(), "already in force") {
		t.Fatalf("rules apply good again = %v\n%s", err, out.String())
	}
	if err := dispatch(ctx, []string{"rules", "apply", "-f", bad}, &out); err == nil {
		t.Fatal("rules apply bad after good succeeded")
	}
	out.Reset()
	if err := dispatch(ctx, []string{"rules", "show"}, &out); err != nil {
		t.Fatal(err)
	}
	shown, err := rules.Parse(out.Bytes())
	if err != nil || shown.Version != "2026-11-27.1" || len(shown.Rules) != 1 || shown.Rules[0].Match.Feature != "support-*" {
		t.Fatalf("rules show = %+v, %v\n%s", shown, err, out.String())
	}

	// The bucket holds one revision: the rejected documents never reached it.
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(ctx, rules.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := kv.History(ctx, rules.Key)
	if err != nil || len(hist) != 1 {
		t.Errorf("history of %s = %d entries, %v, want 1", rules.Key, len(hist), err)
	}

	// Reusing the version for other rules is refused: score rows are identified by it.
	changed := write("changed.json", strings.Replace(mustRead(t, good), "2000", "1000", 1))
	if err := dispatch(ctx, []string{"rules", "apply", "-f", changed}, &out); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("rules apply of changed rules under the same version = %v, want a version error", err)
	}
	if err := dispatch(ctx, []string{"rules", "apply"}, &out); err == nil || !strings.Contains(err.Error(), "-f") {
		t.Errorf("rules apply without -f = %v", err)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
