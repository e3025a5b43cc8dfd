package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/twostep-auth/twostep/internal/datadir"
)

// File names inside the data directory.
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	ServerFile    = "server.pem"
	ServerKeyFile = "server-key.pem"
)

const (
	caLifetime     = 10 * 365 * 24 * time.Hour
	serverLifetime = 397 * 24 * time.Hour
	renewBefore    = 30 * 24 * time.Hour
)

// Local describes the files EnsureLocal made or found.
type Local struct {
	CAFile   string // absolute path of ca.pem
	CertFile string
	KeyFile  string
	Created  []string // files written by this call
}

// EnsureLocal makes sure dir holds a local CA and a server certificate for
// localhost, 127.0.0.1, ::1 and every name in hostnames (DNS names or IP
// literals). Existing files are reused; the server certificate alone is
// reissued when it lacks one of the names or expires within 30 days. The
// caller must hold the data directory's lock: two processes must not run
// this at once.
func EnsureLocal(dir string, hostnames []string, now time.Time, random io.Reader) (Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Local{}, fmt.Errorf("tls: %w", err)
	}
	l := Local{
		CAFile:   filepath.Join(abs, CAFile),
		CertFile: filepath.Join(abs, ServerFile),
		KeyFile:  filepath.Join(abs, ServerKeyFile),
	}
	caKeyPath := filepath.Join(abs, CAKeyFile)

	caCert, caKey, err := loadPair(l.CAFile, caKeyPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		caCert, caKey, err = newCA(now, random)
		if err != nil {
			return Local{}, err
		}
		if err := writePair(l.CAFile, caKeyPath, caCert, caKey); err != nil {
			return Local{}, err
		}
		l.Created = append(l.Created, l.CAFile, caKeyPath)
	case err != nil:
		return Local{}, fmt.Errorf("tls: local CA in %s: %w", abs, err)
	}

	dnsNames, ips := sans(hostnames)
	srv, _, err := loadPair(l.CertFile, l.KeyFile)
	if err == nil && fits(srv, caCert, dnsNames, ips, now) {
		return l, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Local{}, fmt.Errorf("tls: server certificate in %s: %w", abs, err)
	}
	cert, key, err := newServer(caCert, caKey, dnsNames, ips, now, random)
	if err != nil {
		return Local{}, err
	}
	if err := writePair(l.CertFile, l.KeyFile, cert, key); err != nil {
		return Local{}, err
	}
	l.Created = append(l.Created, l.CertFile, l.KeyFile)
	return l, nil
}

// sans splits names into DNS names and IPs, always including localhost,
// 127.0.0.1 and ::1.
func sans(hostnames []string) ([]string, []net.IP) {
	dns := []string{"localhost"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}
	for _, h := range hostnames {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
		} else if h != "" && !slices.Contains(dns, h) {
			dns = append(dns, h)
		}
	}
	return dns, ips
}

func fits(c, ca *x509.Certificate, dns []string, ips []net.IP, now time.Time) bool {
	if now.Add(renewBefore).After(c.NotAfter) || c.CheckSignatureFrom(ca) != nil {
		return false
	}
	for _, d := range dns {
		if !slices.Contains(c.DNSNames, d) {
			return false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

func serial(random io.Reader) (*big.Int, error) {
	n, err := rand.Int(random, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("tls: serial: %w", err)
	}
	return n, nil
}

func newCA(now time.Time, random io.Reader) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), random)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: CA key: %w", err)
	}
	sn, err := serial(random)
	if err != nil {
		return nil, nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	ski := sha256.Sum256(spki)
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Organization: []string{"twostep"}, CommonName: "twostep local CA " + host},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski[:20],
	}
	der, err := x509.CreateCertificate(random, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func newServer(ca *x509.Certificate, caKey *ecdsa.PrivateKey, dns []string, ips []net.IP, now time.Time, random io.Reader) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), random)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: server key: %w", err)
	}
	sn, err := serial(random)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{Organization: []string{"twostep"}, CommonName: dns[len(dns)-1]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(random, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: server certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func loadPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) && errors.Is(err, os.ErrNotExist) {
			return nil, nil, os.ErrNotExist
		}
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not an ECDSA key", keyPath)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	return cert, key, err
}

func writePair(certPath, keyPath string, cert *x509.Certificate, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := datadir.WriteFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return datadir.WriteFileAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}
