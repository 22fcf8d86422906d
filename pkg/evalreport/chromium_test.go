package evalreport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"html/template"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// screenshot, when set, is where TestReportRendersInChromium saves its screenshot of the sample
// report (the README's picture): go test ./evalreport -run Chromium -screenshot=../../deploy/docs/eval-report.png
var screenshot = flag.String("screenshot", "", "save the sample report's screenshot to this PNG file")

// chromiumBin finds a headless Chromium. A missing browser fails the test with an install
// instruction: the report's rendering is never left untested.
func chromiumBin(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found on PATH; install it with: apt-get install -y chromium (or run .ci/run)")
	return ""
}

// browserRun is what one headless Chromium run left: the DOM after the page's scripts ran (with
// --dump-dom) and the console messages the page logged, errors included.
type browserRun struct {
	DOM     string
	Console []string
	Stderr  string
}

// consoleLine matches Chromium's log of a console message (with --enable-logging=stderr):
// [pid:tid:date/time:INFO:CONSOLE:12] "message", source: file:///... (12)
var consoleLine = regexp.MustCompile(`:CONSOLE(?:\(\d+\))?(?::\d+)?\] "(.*)", source: `)

// runChromium opens file in a headless Chromium with its own profile directory and returns the
// DOM (when --dump-dom is among args) and the console. Uncaught exceptions and Content Security
// Policy violations reach the console too.
func runChromium(t *testing.T, bin, file string, args ...string) browserRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--no-default-browser-check", "--disable-extensions", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0"}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, "file://"+file)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Dir = t.TempDir()
	// Chromium forks helpers: give them a process group and end the whole group on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	r := browserRun{DOM: stdout.String(), Stderr: stderr.String()}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if m := consoleLine.FindStringSubmatch(line); m != nil {
			r.Console = append(r.Console, m[1])
		}
	}
	return r
}

func writeReport(t *testing.T, in Input) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	var b bytes.Buffer
	if err := Render(&b, in); err != nil {
		t.Fatalf("Render: %v", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var readyAttr = regexp.MustCompile(`data-report-ready="([^"]*)"`)

func TestReportRendersInChromium(t *testing.T) {
	bin := chromiumBin(t)
	in := sample(t)
	file := writeReport(t, in)
	r := runChromium(t, bin, file, "--dump-dom")

	var html bytes.Buffer
	if err := Render(&html, in); err != nil {
		t.Fatal(err)
	}
	wantCases := strings.Count(html.String(), `<details class="case"`)
	want := fmt.Sprintf("plots=%d rows=%d cases=%d", len(in.Run.Summary.Metrics), len(in.Comparison.Metrics), wantCases)
	if m := readyAttr.FindStringSubmatch(r.DOM); m == nil || m[1] != want {
		t.Errorf("page marked itself %v, want data-report-ready=%q (console: %q)", m, want, r.Console)
	}
	if len(r.Console) != 1 || r.Console[0] != "vigil-report ready "+want {
		t.Errorf("console = %q, want only the ready message (no script error, no policy violation)", r.Console)
	}
	// The browser's own DOM has the drawn lines, the marked runs and the table rows.
	if got := strings.Count(r.DOM, `<path class="line" d="M`); got < len(in.Run.Summary.Metrics) {
		t.Errorf("DOM has %d plot lines, want at least %d", got, len(in.Run.Summary.Metrics))
	}
	if got := strings.Count(r.DOM, `class="point mark-run"`); got != len(in.Run.Summary.Metrics) {
		t.Errorf("DOM marks this run in %d plots, want %d", got, len(in.Run.Summary.Metrics))
	}
	if got := regexp.MustCompile(`(?s)<table class="compare">.*?</table>`).FindString(r.DOM); strings.Count(got, "<tr><td>") != len(in.Comparison.Metrics) {
		t.Errorf("DOM comparison table:\n%s\nwant %d metric rows", got, len(in.Comparison.Metrics))
	}
	// The hostile output is text on the page: its script did not run, its image did not load.
	if regexp.MustCompile(`<html[^>]*data-pwned`).MatchString(r.DOM) {
		t.Error("a script or handler from an output ran in the page")
	}
	if !strings.Contains(r.DOM, `&lt;script&gt;document.documentElement.setAttribute("data-pwned","script")&lt;/script&gt;`) {
		t.Error("the hostile output is not shown as text")
	}

	// A screenshot: a real picture of the page, not a blank one.
	shot := filepath.Join(t.TempDir(), "report.png")
	runChromium(t, bin, file, "--hide-scrollbars", "--window-size=1280,1900", "--screenshot="+shot)
	img := decodePNG(t, shot)
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 1900 {
		t.Errorf("screenshot is %v, want 1280x1900", b)
	}
	if n := colours(img); n < 50 {
		t.Errorf("screenshot has %d colours: the page did not render", n)
	}
	if *screenshot != "" {
		data, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*screenshot, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", *screenshot)
	}
}

// TestReportVariantsRenderInChromium opens the reports without a comparison and without
// history: the page's script copes with the parts they lack.
func TestReportVariantsRenderInChromium(t *testing.T) {
	bin := chromiumBin(t)
	alone := sample(t)
	alone.Against, alone.AgainstResults, alone.Comparison = nil, nil, nil
	bare := alone
	bare.History = nil
	for _, tc := range []struct {
		name string
		in   Input
		want string
	}{
		{"alone", alone, fmt.Sprintf("plots=%d rows=0 cases=", len(alone.Run.Summary.Metrics))},
		{"no history", bare, "plots=0 rows=0 cases="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runChromium(t, bin, writeReport(t, tc.in), "--dump-dom")
			m := readyAttr.FindStringSubmatch(r.DOM)
			if m == nil || !strings.HasPrefix(m[1], tc.want) || strings.HasSuffix(m[1], "cases=0") {
				t.Errorf("page marked itself %v, want data-report-ready=%q and some failing cases", m, tc.want+"N")
			}
			if len(r.Console) != 1 || !strings.HasPrefix(r.Console[0], "vigil-report ready "+tc.want) {
				t.Errorf("console = %q, want only the ready message", r.Console)
			}
		})
	}
}

// TestChromiumCatchesBrokenPages shows the check above can fail: a report whose script was
// changed after rendering is blocked by the page's policy (its hash no longer matches), and a
// script that throws is reported; neither marks the page ready.
func TestChromiumCatchesBrokenPages(t *testing.T) {
	bin := chromiumBin(t)
	var b bytes.Buffer
	if err := Render(&b, sample(t)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	// withScript swaps the page's script and its hash in the policy, so the new script runs.
	withScript := func(js string) string {
		sum := sha256.Sum256([]byte(js))
		policy := csp[:strings.Index(csp, "'sha256-")] + "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		p := strings.Replace(page, script, js, 1)
		return regexp.MustCompile(`content="default-src[^"]*"`).ReplaceAllLiteralString(p, `content="`+template.HTMLEscapeString(policy)+`"`)
	}
	for _, tc := range []struct {
		name, page, console string
	}{
		{"tampered script", strings.Replace(page, `"vigil-report ready "`, `"vigil-report tampered "`, 1), "Content Security Policy"},
		{"script error", withScript("undefinedFunction();\n" + script), "Uncaught ReferenceError: undefinedFunction is not defined"},
		{"chart without data", strings.ReplaceAll(page, `<path class="line" d="M`, `<path class="nothing" d="M`), "vigil-report error: chart 0 has no data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.page == page {
				t.Fatal("the broken page is the report itself")
			}
			file := filepath.Join(t.TempDir(), "broken.html")
			if err := os.WriteFile(file, []byte(tc.page), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runChromium(t, bin, file, "--dump-dom")
			if m := readyAttr.FindStringSubmatch(r.DOM); m != nil && m[1] != "error" {
				t.Errorf("broken page marked itself ready: %q", m[1])
			}
			if !strings.Contains(strings.Join(r.Console, "\n"), tc.console) {
				t.Errorf("console = %q, want a message containing %q", r.Console, tc.console)
			}
		})
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode screenshot %s: %v", path, err)
	}
	return img
}

func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}] = true
		}
	}
	return len(seen)
}
