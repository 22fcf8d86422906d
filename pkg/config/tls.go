package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLS names the certificate files for the connections to NATS and to ClickHouse. For each, a CA
// file, a client certificate or the skip-verify switch turns TLS on; so does a tls:// NATS URL or
// a secure=true DSN, which then verify the server against the system roots. Server certificates
// are verified unless the skip-verify switch is set.
type TLS struct {
	NATSCA             string `envconfig:"NATS_TLS_CA" desc:"PEM file of the CA certificates that sign the NATS server's certificate; turns TLS on"`
	NATSCert           string `envconfig:"NATS_TLS_CERT" desc:"PEM client certificate presented to NATS (mutual TLS); needs VIGIL_NATS_TLS_KEY"`
	NATSKey            string `envconfig:"NATS_TLS_KEY" desc:"PEM private key of VIGIL_NATS_TLS_CERT"`
	NATSInsecure       bool   `envconfig:"NATS_TLS_INSECURE_SKIP_VERIFY" default:"false" desc:"accept any NATS server certificate (tests only: anyone in the path can read and alter traffic)"`
	ClickHouseCA       string `envconfig:"CLICKHOUSE_TLS_CA" desc:"PEM file of the CA certificates that sign ClickHouse's certificate; turns TLS on (point the DSN at tcp_port_secure, 9440)"`
	ClickHouseCert     string `envconfig:"CLICKHOUSE_TLS_CERT" desc:"PEM client certificate presented to ClickHouse (mutual TLS); needs VIGIL_CLICKHOUSE_TLS_KEY"`
	ClickHouseKey      string `envconfig:"CLICKHOUSE_TLS_KEY" desc:"PEM private key of VIGIL_CLICKHOUSE_TLS_CERT"`
	ClickHouseInsecure bool   `envconfig:"CLICKHOUSE_TLS_INSECURE_SKIP_VERIFY" default:"false" desc:"accept any ClickHouse server certificate (tests only: anyone in the path can read and alter traffic)"`
}

// NATSConfig returns the TLS configuration for NATS connections, or nil when no NATS TLS
// variable is set. Errors name the variable and the file.
func (t TLS) NATSConfig() (*tls.Config, error) {
	return clientTLS("VIGIL_NATS_TLS", t.NATSCA, t.NATSCert, t.NATSKey, t.NATSInsecure)
}

// ClickHouseConfig returns the TLS configuration for ClickHouse connections, or nil when no
// ClickHouse TLS variable is set. Errors name the variable and the file.
func (t TLS) ClickHouseConfig() (*tls.Config, error) {
	return clientTLS("VIGIL_CLICKHOUSE_TLS", t.ClickHouseCA, t.ClickHouseCert, t.ClickHouseKey, t.ClickHouseInsecure)
}

// Validate reports every unusable TLS setting at once: unreadable or malformed files, and a
// certificate without its key or a key without its certificate.
func (t TLS) Validate() error {
	_, natsErr := t.NATSConfig()
	_, chErr := t.ClickHouseConfig()
	return errors.Join(natsErr, chErr)
}

func clientTLS(prefix, caFile, certFile, keyFile string, insecure bool) (*tls.Config, error) {
	if caFile == "" && certFile == "" && keyFile == "" && !insecure {
		return nil, nil
	}
	// InsecureSkipVerify stays off unless the operator sets *_INSECURE_SKIP_VERIFY.
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	var errs []error
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s_CA=%q: %w", prefix, caFile, err))
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("%s_CA=%q: no PEM certificate in the file", prefix, caFile))
			}
			cfg.RootCAs = pool
		}
	}
	switch {
	case certFile != "" && keyFile == "":
		errs = append(errs, fmt.Errorf("%s_KEY: must be set with %s_CERT=%q", prefix, prefix, certFile))
	case certFile == "" && keyFile != "":
		errs = append(errs, fmt.Errorf("%s_CERT: must be set with %s_KEY=%q", prefix, prefix, keyFile))
	case certFile != "":
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s_CERT=%q, %s_KEY=%q: %w", prefix, certFile, prefix, keyFile, err))
		} else {
			cfg.Certificates = []tls.Certificate{pair}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}
