package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
)

// runEvalAccept makes a finished run the expected quality of its version: it is recorded in
// ClickHouse (eval_acceptances) and in the baselines bucket, from which every drift replica
// compares the version's live traffic with it.
func runEvalAccept(ctx context.Context, args []string, out io.Writer) error {
	fs := flagSet("eval accept", out)
	anyModel := fs.Bool("any-model", false, "apply to every model of the version, not only the run's")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("eval accept: give one run id (vigil eval runs lists them)")
	}
	cfg, conn, err := openConfiguredEvalStore(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	run, err := store.Run(ctx, conn, pos[0])
	if err != nil {
		return err
	}
	a, err := driftsvc.AcceptanceOf(run, *anyModel, os.Getenv("USER"), time.Now())
	if err != nil {
		return err
	}
	kv, closeKV, err := openBaselineBucket(ctx, cfg.common)
	if err != nil {
		return err
	}
	defer closeKV()
	if err := store.InsertAcceptance(ctx, conn, a); err != nil {
		return err
	}
	if err := driftsvc.PutAcceptance(ctx, kv, a); err != nil {
		return err
	}
	model := a.Model
	if model == "" {
		model = "every model"
	}
	var ms []string
	for _, m := range a.Metrics {
		ms = append(ms, fmt.Sprintf("%s %.1f%% (n=%d)", m.Metric, 100*m.PassRate, m.N))
	}
	fmt.Fprintf(out, "accepted %s as the expected quality of %s/%s prompt_version %s (%s): %s\n", a.RunID, a.App, a.Feature,
		a.PromptVersion, model, strings.Join(ms, ", "))
	fmt.Fprintln(out, "live traffic of this version alerts (eval_regression) when a pass rate falls significantly and by more than VIGIL_DRIFT_EVAL_MARGIN below these")
	return nil
}
