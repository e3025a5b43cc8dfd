// Package smtptest runs an in-process SMTP server (emersion/go-smtp) on
// loopback for tests: STARTTLS or implicit TLS with a certificate from a
// fresh local CA, PLAIN authentication required (only over TLS), and
// every accepted message kept for the test to read. It makes its own
// certificates (adapters' test helpers import nothing of ours but mfa).
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Credentials the server accepts.
const (
	Username = "mailer"
	Password = "s3cret-smtp-password"
)

// Options shape a server. Hooks get the 1-based number of the connection.
type Options struct {
	STARTTLS bool // offer STARTTLS
	Implicit bool // TLS from the first byte
	Open     bool // accept mail without authentication
	RcptErr  func(conn int) error
	DataErr  func(conn int) error
	// Hang, if not nil, makes RCPT wait until it is closed (a server that
	// stops answering); the server closes it when the test ends.
	Hang chan struct{}
}

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

// Server is a running server.
type Server struct {
	Host  string // "localhost", which the certificate covers
	Port  int
	Local Local // the certificate and its CA (Pool, CAFile)

	opts  Options
	mu    sync.Mutex
	msgs  []Message
	conns map[*gosmtp.Conn]int
}

// Start serves on a loopback port until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{Host: "localhost", Local: NewLocal(t), opts: opts, conns: map[*gosmtp.Conn]int{}}
	srv := gosmtp.NewServer(s)
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	tc := &tls.Config{Certificates: []tls.Certificate{s.Local.Cert}}
	if opts.STARTTLS {
		srv.TLSConfig = tc
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Implicit {
		l = tls.NewListener(l, tc)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		if opts.Hang != nil {
			close(opts.Hang)
		}
		_ = srv.Close()
	})
	return s
}

// Messages returns what the server accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Connections returns how many connections the server has seen.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// NewSession implements gosmtp.Backend. EHLO again after STARTTLS starts
// a new session on the same connection, so connections are counted by
// connection.
func (s *Server) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		s.conns[c] = len(s.conns) + 1
	}
	return &session{s: s, conn: c, n: s.conns[c]}, nil
}

type session struct {
	s    *Server
	conn *gosmtp.Conn
	n    int
	user string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != Username || password != Password {
			return &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if ss.user == "" && !ss.s.opts.Open {
		return gosmtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if ss.s.opts.Hang != nil {
		<-ss.s.opts.Hang
	}
	if f := ss.s.opts.RcptErr; f != nil {
		if err := f(ss.n); err != nil {
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if f := ss.s.opts.DataErr; f != nil {
		if err := f(ss.n); err != nil {
			return err
		}
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.msgs = append(ss.s.msgs, Message{From: ss.from, To: ss.to, Data: b, TLS: isTLS, User: ss.user})
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// Parsed is an accepted message taken apart.
type Parsed struct {
	Header mail.Header
	Text   string // the text/plain part, decoded
	HTML   string // the text/html part, decoded
}

// Parse reads a multipart/alternative message, failing the test if it is
// anything else.
func Parse(t testing.TB, data []byte) Parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadMessage() error = %v\n%s", err, data)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	p := Parsed{Header: m.Header}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart() error = %v", err)
		}
		var r io.Reader = part
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(part)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			p.Text = string(b)
		case "text/html":
			p.HTML = string(b)
		default:
			t.Errorf("unexpected part %q", ct)
		}
	}
	return p
}

// Local is a server certificate for "localhost" and 127.0.0.1 signed by a
// fresh CA.
type Local struct {
	Cert   tls.Certificate
	Pool   *x509.CertPool // holds only the CA
	CAFile string         // the CA in PEM, in a temporary directory
}

// NewLocal makes a CA and a server certificate that live for the test.
func NewLocal(t testing.TB) Local {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return Local{Cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, Pool: pool, CAFile: caFile}
}
