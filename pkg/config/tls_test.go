package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/testkit"
)

func TestTLSValidate(t *testing.T) {
	certs := testkit.GenerateCerts(t)
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tls  config.TLS
		want []string // substrings of the error; none means valid
	}{
		{"nothing set", config.TLS{}, nil},
		{"CA only", config.TLS{NATSCA: certs.CA, ClickHouseCA: certs.CA}, nil},
		{"mutual TLS", config.TLS{ClickHouseCA: certs.CA, ClickHouseCert: certs.ClientCert, ClickHouseKey: certs.ClientKey}, nil},
		{"certificate without key", config.TLS{NATSCert: certs.ClientCert}, []string{"VIGIL_NATS_TLS_KEY: must be set with VIGIL_NATS_TLS_CERT="}},
		{"key without certificate", config.TLS{ClickHouseKey: certs.ClientKey}, []string{"VIGIL_CLICKHOUSE_TLS_CERT: must be set with VIGIL_CLICKHOUSE_TLS_KEY="}},
		{"missing CA file and malformed one, both reported", config.TLS{NATSCA: "/nonexistent/ca.pem", ClickHouseCA: notPEM},
			[]string{`VIGIL_NATS_TLS_CA="/nonexistent/ca.pem"`, "no such file", `VIGIL_CLICKHOUSE_TLS_CA="` + notPEM + `": no PEM certificate`}},
		{"key that does not match", config.TLS{NATSCert: certs.ClientCert, NATSKey: certs.ServerKey}, []string{"VIGIL_NATS_TLS_CERT=", "VIGIL_NATS_TLS_KEY="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.tls.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("Validate(%+v) = %v, want nil", tc.tls, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error containing %q", tc.tls, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%+v) = %v, want it to contain %q", tc.tls, err, w)
				}
			}
		})
	}
}

func TestTLSConfigsOnlyWhenAsked(t *testing.T) {
	certs := testkit.GenerateCerts(t)
	tls := config.TLS{ClickHouseCA: certs.CA}
	if got, err := tls.NATSConfig(); got != nil || err != nil {
		t.Errorf("NATSConfig() with only ClickHouse set = %v, %v; want nil, nil", got, err)
	}
	got, err := tls.ClickHouseConfig()
	if err != nil || got == nil || got.RootCAs == nil || got.InsecureSkipVerify {
		t.Errorf("ClickHouseConfig() = %+v, %v; want the CA pool and verification on", got, err)
	}
}
