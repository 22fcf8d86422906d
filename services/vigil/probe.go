package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// runProbe is a health check for images without a shell or curl: it GETs the URL and fails
// unless the answer is 2xx.
func runProbe(ctx context.Context, args []string, out io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("probe: give one URL, e.g. http://127.0.0.1:9102/readyz")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", args[0], err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", args[0], err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("probe %s: HTTP %d", args[0], resp.StatusCode)
	}
	fmt.Fprintf(out, "%s: HTTP %d\n", args[0], resp.StatusCode)
	return nil
}
