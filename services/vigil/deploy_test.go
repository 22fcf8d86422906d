package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigilhq/vigil/services/internal/settings"
)

// defaults maps every variable to its default, read from the configuration structs.
func defaults(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(v reflect.Type)
	walk = func(v reflect.Type) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if f.Type.Kind() == reflect.Struct && f.Tag.Get("envconfig") == "" && f.Type.PkgPath() != "time" {
				walk(f.Type)
				continue
			}
			if key := f.Tag.Get("envconfig"); key != "" {
				out["VIGIL_"+key] = f.Tag.Get("default")
			}
		}
	}
	for _, s := range settings.Specs() {
		walk(reflect.TypeOf(s).Elem())
	}
	return out
}

// adminPort is the default admin port of a service ("9102" for scorer).
func adminPort(t *testing.T, service string) string {
	t.Helper()
	addr, ok := defaults(t)["VIGIL_"+strings.ToUpper(service)+"_ADMIN_ADDR"]
	if !ok {
		t.Fatalf("no VIGIL_%s_ADMIN_ADDR: is %q a vigil service?", strings.ToUpper(service), service)
	}
	return strings.TrimPrefix(addr, ":")
}

func serviceExists(t *testing.T, name string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("..", name, "main.go")); err != nil {
		t.Errorf("deployment runs %q, but services/%s/main.go does not exist", name, name)
	}
}

func TestComposeMatchesTheCode(t *testing.T) {
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	known := settings.Known()
	seen := map[string]bool{}
	for name, s := range compose.Services {
		if s.Image != "vigil:local" {
			continue
		}
		seen[name] = true
		if len(s.Command) != 1 || s.Command[0] != name {
			t.Errorf("compose service %s runs %v, want [%s]", name, s.Command, name)
		}
		serviceExists(t, name)
		for k := range s.Environment {
			if strings.HasPrefix(k, "VIGIL_") && !known[k] {
				t.Errorf("compose service %s sets %s, which no vigil service reads", name, k)
			}
		}
		probe := strings.Join(s.Healthcheck.Test, " ")
		if want := "vigil probe http://127.0.0.1:" + adminPort(t, name) + "/readyz"; !strings.Contains(probe, want) {
			t.Errorf("compose service %s health check %q, want it to run %q", name, probe, want)
		}
	}
	for _, want := range []string{"scorer", "drift", "writer", "notifier"} {
		if !seen[want] {
			t.Errorf("docker-compose.yml has no %s service", want)
		}
	}
	dockerfile, _ := os.ReadFile("../../deploy/Dockerfile")
	for name := range seen {
		if !bytes.Contains(dockerfile, []byte("./"+name)) {
			t.Errorf("deploy/Dockerfile does not build %s", name)
		}
	}
}

func TestKubernetesManifestsMatchTheCode(t *testing.T) {
	files, _ := filepath.Glob("../../deploy/k8s/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/k8s")
	}
	known := settings.Known()
	deployments := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("parse %s: %v", f, err)
			}
			if doc == nil {
				continue
			}
			kind, _ := doc["kind"].(string)
			switch {
			case kind == "ConfigMap" && dig(doc, "metadata", "name") == "vigil-config":
				for k := range doc["data"].(map[string]any) {
					if !known[k] {
						t.Errorf("%s: ConfigMap vigil-config sets %s, which no vigil service reads", filepath.Base(f), k)
					}
				}
			case kind == "Deployment":
				containers := dig(doc, "spec", "template", "spec", "containers").([]any)
				c := containers[0].(map[string]any)
				cmd := c["command"].([]any)[0].(string)
				name := filepath.Base(cmd)
				serviceExists(t, name)
				deployments[name] = true
				port := c["ports"].([]any)[0].(map[string]any)["containerPort"]
				if want := adminPort(t, name); toString(port) != want {
					t.Errorf("%s: %s container port %v, want the admin port %s", filepath.Base(f), name, port, want)
				}
			case kind == "ScaledObject":
				target := dig(doc, "spec", "scaleTargetRef", "name").(string)
				if !strings.HasPrefix(target, "vigil-") {
					t.Errorf("%s: ScaledObject targets %s", filepath.Base(f), target)
				}
			}
		}
	}
	for _, want := range []string{"scorer", "drift", "writer", "notifier"} {
		if !deployments[want] {
			t.Errorf("deploy/k8s has no Deployment for %s", want)
		}
	}
}

func TestDashboardsAndRulesNameRealMetrics(t *testing.T) {
	var dash map[string]any
	b, err := os.ReadFile("../../deploy/grafana/vigil.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("parse the Grafana dashboard: %v", err)
	}
	rules, err := os.ReadFile("../../deploy/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var parsed map[string]any
	if err := yaml.Unmarshal(rules, &parsed); err != nil {
		t.Fatalf("parse the alert rules: %v", err)
	}
	var source bytes.Buffer
	for _, dir := range []string{"../../pkg", "../../services"} {
		_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
				b, _ := os.ReadFile(p)
				source.Write(b)
			}
			return nil
		})
	}
	metric := regexp.MustCompile(`vigil_[a-z_]+`)
	for _, name := range metric.FindAllString(string(rules)+string(b), -1) {
		base := strings.TrimSuffix(name, "_bucket")
		if !bytes.Contains(source.Bytes(), []byte(`"`+base+`"`)) {
			t.Errorf("deploy names metric %s, which no vigil service exports", name)
		}
	}
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}
