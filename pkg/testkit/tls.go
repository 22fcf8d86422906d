package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Certs are PEM files of a throwaway certificate authority, a server certificate it signed for
// 127.0.0.1 and localhost, and a client certificate it signed, all in one directory.
type Certs struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

// GenerateCerts writes a fresh CA, server and client certificate into a temporary directory.
func GenerateCerts(tb testing.TB) Certs {
	tb.Helper()
	dir := tb.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vigil test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		tb.Fatal(err)
	}
	c := Certs{CA: filepath.Join(dir, "ca.crt")}
	writePEM(tb, c.CA, "CERTIFICATE", caDER)
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
			DNSNames:     []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			tb.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			tb.Fatal(err)
		}
		certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		writePEM(tb, certFile, "CERTIFICATE", der)
		writePEM(tb, keyFile, "PRIVATE KEY", keyDER)
		return certFile, keyFile
	}
	c.ServerCert, c.ServerKey = leaf(2, "server", x509.ExtKeyUsageServerAuth)
	c.ClientCert, c.ClientKey = leaf(3, "client", x509.ExtKeyUsageClientAuth)
	return c
}

func writePEM(tb testing.TB, path, typ string, der []byte) {
	tb.Helper()
	// 0644: clickhouse-server may run as another user than the test.
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// NATSWithTLS starts an in-process JetStream server that accepts only TLS clients presenting a
// certificate signed by certs.CA, and shuts it down when the test ends.
func NATSWithTLS(tb testing.TB, certs Certs) *server.Server {
	tb.Helper()
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: certs.ServerCert, KeyFile: certs.ServerKey, CaFile: certs.CA, Verify: true,
	})
	if err != nil {
		tb.Fatalf("NATS TLS config: %v", err)
	}
	opts := jetStreamOptions("vigil-test-tls", tb.TempDir(), -1)
	opts.TLS, opts.TLSVerify, opts.TLSConfig, opts.TLSTimeout = true, true, tc, 2
	ns, err := server.NewServer(opts)
	if err != nil {
		tb.Fatalf("create NATS server: %v", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		tb.Fatal("NATS server with TLS not ready after 10s")
	}
	tb.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns
}

// TLSConfig is the part of a clickhouse-server config.xml that opens the native protocol over
// TLS on p.TCPSecure with the server certificate in certs, and requires clients to present a
// certificate signed by certs.CA.
func TLSConfig(p Ports, certs Certs) string {
	return fmt.Sprintf(`    <tcp_port_secure>%d</tcp_port_secure>
    <openSSL><server>
        <certificateFile>%s</certificateFile>
        <privateKeyFile>%s</privateKeyFile>
        <caConfig>%s</caConfig>
        <verificationMode>strict</verificationMode>
        <loadDefaultCAFile>false</loadDefaultCAFile>
        <cacheSessions>true</cacheSessions>
        <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
        <preferServerCiphers>true</preferServerCiphers>
    </server></openSSL>
`, p.TCPSecure, certs.ServerCert, certs.ServerKey, certs.CA)
}
