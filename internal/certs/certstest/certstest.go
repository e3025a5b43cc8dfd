// Package certstest starts test HTTPS servers that present a certificate
// from twostep's own local CA (internal/certs), so tests use real TLS the
// way clients of a fresh installation do: trusting ca.pem, reaching
// "localhost".
package certstest

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/certs"
)

// Server is a running test HTTPS server.
type Server struct {
	*httptest.Server
	Host string         // "localhost:<port>", a name the certificate covers
	Pool *x509.CertPool // holds only the local CA
}

// StartTLS serves h over TLS with a fresh local CA and server certificate;
// the server stops when the test ends.
func StartTLS(t testing.TB, h http.Handler) *Server {
	t.Helper()
	l, err := certs.EnsureLocal(t.TempDir(), nil, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(l.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("no certificate in %s", l.CAFile)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &Server{Server: srv, Pool: pool,
		Host: strings.Replace(srv.Listener.Addr().String(), "127.0.0.1", "localhost", 1)}
}
