package certs

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestEnsureLocalCreatesAndReuses(t *testing.T) {
	dir := t.TempDir()
	l, err := EnsureLocal(dir, []string{"mfa.example.com", "192.0.2.7"}, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Created) != 4 {
		t.Errorf("EnsureLocal(empty dir) created %v, want 4 files", l.Created)
	}
	for _, tt := range []struct {
		give string
		want os.FileMode
	}{{CAFile, 0o644}, {CAKeyFile, 0o600}, {ServerFile, 0o644}, {ServerKeyFile, 0o600}} {
		st, err := os.Stat(filepath.Join(dir, tt.give))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != tt.want {
			t.Errorf("mode of %s = %v, want %v", tt.give, st.Mode().Perm(), tt.want)
		}
	}
	cert, _, err := loadPair(l.CertFile, l.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "mfa.example.com"} {
		if !slices.Contains(cert.DNSNames, name) {
			t.Errorf("server certificate DNS names %v lack %s", cert.DNSNames, name)
		}
	}
	for _, ip := range []string{"127.0.0.1", "::1", "192.0.2.7"} {
		if !slices.ContainsFunc(cert.IPAddresses, net.ParseIP(ip).Equal) {
			t.Errorf("server certificate IPs %v lack %s", cert.IPAddresses, ip)
		}
	}

	again, err := EnsureLocal(dir, []string{"mfa.example.com"}, now.Add(24*time.Hour), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Created) != 0 {
		t.Errorf("second EnsureLocal created %v, want nothing", again.Created)
	}

	// A new public hostname reissues the server certificate under the same CA.
	caBefore, _ := os.ReadFile(l.CAFile)
	third, err := EnsureLocal(dir, []string{"other.example.com"}, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(third.Created, []string{third.CertFile, third.KeyFile}) {
		t.Errorf("EnsureLocal(new name) created %v, want only the server pair", third.Created)
	}
	caAfter, _ := os.ReadFile(l.CAFile)
	if string(caBefore) != string(caAfter) {
		t.Error("EnsureLocal(new name) replaced the CA; clients trusting it would break")
	}

	// Close to expiry, the server certificate is renewed.
	renewed, err := EnsureLocal(dir, []string{"other.example.com"}, now.Add(390*24*time.Hour), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(renewed.Created) != 2 {
		t.Errorf("EnsureLocal(near expiry) created %v, want the server pair", renewed.Created)
	}
}

func TestLocalCertificateServesTLS(t *testing.T) {
	dir := t.TempDir()
	l, err := EnsureLocal(dir, nil, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	defer srv.Close()

	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(l.CAFile)
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	// The test server listens on IPv4 only; ::1 is checked in the SAN test.
	for _, host := range []string{"localhost", "127.0.0.1"} {
		resp, err := client.Get("https://" + host + ":" + port + "/")
		if err != nil {
			t.Errorf("GET via %s trusting ca.pem: %v", host, err)
			continue
		}
		resp.Body.Close()
	}
}

func TestEnsureLocalRejectsCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CAFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureLocal(dir, nil, now, rand.Reader); err == nil {
		t.Error("EnsureLocal(corrupt CA) = nil error, want an error (never overwrite an operator's CA)")
	}
}
