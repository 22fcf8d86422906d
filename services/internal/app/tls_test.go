package app_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/settings"
	"github.com/vigilhq/vigil/services/internal/writersvc"
)

// TestTLSConnections connects to a NATS server and a ClickHouse server that both require TLS
// with client certificates, through the configuration services load from the environment and
// the connect helpers they use, and shows that clients lacking the CA (or a certificate) are
// refused.
func TestTLSConnections(t *testing.T) {
	certs := testkit.GenerateCerts(t)
	ns := testkit.NATSWithTLS(t, certs)
	ch := testkit.StartServer(t, func(dir string, p testkit.Ports) (string, error) {
		return testkit.BaseConfig(dir, p) + testkit.OpenUsers + testkit.TLSConfig(p, certs) + "</yandex>\n", nil
	})
	for k, v := range map[string]string{
		"VIGIL_NATS_URL":            ns.ClientURL(),
		"VIGIL_NATS_TLS_CA":         certs.CA,
		"VIGIL_NATS_TLS_CERT":       certs.ClientCert,
		"VIGIL_NATS_TLS_KEY":        certs.ClientKey,
		"VIGIL_CLICKHOUSE_DSN":      fmt.Sprintf("clickhouse://127.0.0.1:%d/vigil_tls", ch.Ports.TCPSecure),
		"VIGIL_CLICKHOUSE_TLS_CA":   certs.CA,
		"VIGIL_CLICKHOUSE_TLS_CERT": certs.ClientCert,
		"VIGIL_CLICKHOUSE_TLS_KEY":  certs.ClientKey,
		"VIGIL_LOG_LEVEL":           "warn",
	} {
		t.Setenv(k, v)
	}
	var c config.Common
	if err := config.Load(settings.Known(), &c); err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)

	t.Run("NATS with the CA and a client certificate", func(t *testing.T) {
		nc, js, err := app.Connect(ctx, c, "tls-test", log)
		if err != nil {
			t.Fatalf("app.Connect: %v", err)
		}
		defer nc.Close()
		state, err := nc.TLSConnectionState()
		if err != nil || !state.HandshakeComplete {
			t.Fatalf("TLSConnectionState() = %+v, %v; want a completed handshake", state, err)
		}
		if _, err := js.Publish(ctx, stream.EventsSubject("shop"), []byte(`{}`)); err != nil {
			t.Errorf("publish over TLS: %v", err)
		}
	})
	t.Run("NATS without the CA is refused", func(t *testing.T) {
		noCA := c
		noCA.NATSCA = ""
		nc, err := app.DialNATS(noCA, "tls-test", nats.Timeout(3*time.Second))
		if err == nil {
			nc.Close()
			t.Fatal("DialNATS without VIGIL_NATS_TLS_CA connected, want refused")
		}
		if !isUnknownAuthority(err) {
			t.Errorf("DialNATS without the CA = %v, want an unknown-authority error", err)
		}
	})
	t.Run("NATS without a client certificate is refused", func(t *testing.T) {
		noCert := c
		noCert.NATSCert, noCert.NATSKey = "", ""
		nc, err := app.DialNATS(noCert, "tls-test", nats.Timeout(3*time.Second))
		if err == nil {
			// The server may drop the connection just after the handshake instead.
			err = nc.Flush()
			nc.Close()
		}
		if err == nil {
			t.Fatal("DialNATS without a client certificate connected, want refused")
		}
	})

	t.Run("ClickHouse with the CA and a client certificate", func(t *testing.T) {
		conn, err := writersvc.Connect(ctx, c, log) // migrates over TLS, then opens
		if err != nil {
			t.Fatalf("writersvc.Connect: %v", err)
		}
		defer conn.Close()
		ev := &event.Event{EventID: "tls-1", Timestamp: time.Now().UTC().Truncate(time.Second), App: "shop", Model: "m", Output: "hi"}
		if err := store.InsertModelCalls(ctx, conn, []*event.Event{ev}); err != nil {
			t.Fatalf("insert over TLS: %v", err)
		}
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM v_model_calls WHERE event_id = 'tls-1'").Scan(&n); err != nil || n != 1 {
			t.Errorf("rows read back over TLS = %d, %v; want 1", n, err)
		}
	})
	t.Run("ClickHouse without the CA is refused", func(t *testing.T) {
		noCA := c
		noCA.ClickHouseCA = ""
		err := openClickHouse(ctx, noCA)
		if err == nil || !isUnknownAuthority(err) {
			t.Errorf("open without VIGIL_CLICKHOUSE_TLS_CA = %v, want an unknown-authority error", err)
		}
	})
	t.Run("ClickHouse without a client certificate is refused", func(t *testing.T) {
		noCert := c
		noCert.ClickHouseCert, noCert.ClickHouseKey = "", ""
		if err := openClickHouse(ctx, noCert); err == nil {
			t.Error("open without a client certificate succeeded, want refused")
		}
	})
	t.Run("ClickHouse without TLS is refused", func(t *testing.T) {
		plain := c
		plain.TLS = config.TLS{}
		if err := openClickHouse(ctx, plain); err == nil {
			t.Error("plain connection to the TLS port succeeded, want refused")
		}
	})
	t.Run("ClickHouse with skip-verify accepts an unknown authority", func(t *testing.T) {
		insecure := c
		insecure.ClickHouseCA, insecure.ClickHouseInsecure = "", true
		if err := openClickHouse(ctx, insecure); err != nil {
			t.Errorf("open with VIGIL_CLICKHOUSE_TLS_INSECURE_SKIP_VERIFY=true: %v", err)
		}
	})
}

func openClickHouse(ctx context.Context, c config.Common) error {
	opts, err := store.ConnOptions(c)
	if err != nil {
		return err
	}
	opts.DialTimeout = 3 * time.Second
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := store.Open(ctx, opts)
	if err != nil {
		return err
	}
	return conn.Close()
}

func isUnknownAuthority(err error) bool {
	var ua x509.UnknownAuthorityError
	return errors.As(err, &ua) || strings.Contains(err.Error(), "certificate signed by unknown authority")
}
