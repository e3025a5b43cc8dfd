// Package slapdtest starts Debian's slapd (OpenLDAP) for tests: a fresh
// directory in a temporary directory, on free loopback ports, with TLS
// (StartTLS on ldap://, and ldaps://) from a generated local CA
// (internal/certs), a service account and the given users. Tests that
// use it skip when slapd is not installed, and fail under CI=true, where
// .ci/run installs it (packages slapd, ldap-utils).
package slapdtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/certs"
)

// Base DN and service account of every test directory.
const (
	BaseDN       = "dc=example,dc=com"
	PeopleDN     = "ou=people," + BaseDN
	BindDN       = "cn=twostep,ou=services," + BaseDN
	BindPassword = "service account secret"
	rootDN       = "cn=admin," + BaseDN
)

// User is one person in the directory (objectClass inetOrgPerson, under
// PeopleDN, DN uid=<UID>).
type User struct {
	UID      string
	Password string
	Mail     string
	CN       string
}

// Server is a running slapd.
type Server struct {
	// URL is ldap://127.0.0.1:<port> (StartTLS available); LDAPSURL is
	// ldaps://127.0.0.1:<port>.
	URL, LDAPSURL string
	// CAFile is the PEM of the CA that signed slapd's certificate (for
	// "localhost", 127.0.0.1 and ::1); Pool holds it.
	CAFile string
	Pool   *x509.CertPool
	cmd    *exec.Cmd
	done   chan struct{}
}

// Start runs slapd with users until the test ends.
func Start(t testing.TB, users ...User) *Server {
	t.Helper()
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/slapd", "/usr/local/sbin/slapd"} {
			if _, e := os.Stat(p); e == nil {
				slapd, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("slapd is not installed; .ci/run installs the packages slapd and ldap-utils")
		}
		t.Skip("slapd is not installed (apt-get install slapd ldap-utils)")
	}
	slapadd := filepath.Join(filepath.Dir(slapd), "slapadd")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := certs.EnsureLocal(filepath.Join(dir, "tls"), nil, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(l.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	db := filepath.Join(dir, "db")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	schema := "/etc/ldap/schema"
	conf := fmt.Sprintf(`include %[1]s/core.schema
include %[1]s/cosine.schema
include %[1]s/inetorgperson.schema
include %[1]s/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[2]s/slapd.pid
argsfile %[2]s/slapd.args
TLSCACertificateFile %[3]s
TLSCertificateFile %[4]s
TLSCertificateKeyFile %[5]s
database mdb
maxsize 16777216
suffix "%[6]s"
rootdn "%[7]s"
rootpw root-not-used-by-tests
directory %[8]s
access to attrs=userPassword
	by self read
	by anonymous auth
	by * none
access to *
	by dn.exact="%[9]s" read
	by self read
	by anonymous auth
	by * none
`, schema, dir, l.CAFile, l.CertFile, l.KeyFile, BaseDN, rootDN, db, BindDN)
	confFile := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var ldif bytes.Buffer
	fmt.Fprintf(&ldif, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n", BaseDN)
	fmt.Fprintf(&ldif, "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", BaseDN)
	fmt.Fprintf(&ldif, "dn: ou=services,%s\nobjectClass: organizationalUnit\nou: services\n\n", BaseDN)
	fmt.Fprintf(&ldif, "dn: %s\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: twostep\nsn: twostep\nuserPassword: %s\n\n",
		BindDN, ssha(BindPassword))
	for _, u := range users {
		cn := u.CN
		if cn == "" {
			cn = u.UID
		}
		fmt.Fprintf(&ldif, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n", u.UID, PeopleDN, u.UID, cn, cn)
		if u.Mail != "" {
			fmt.Fprintf(&ldif, "mail: %s\n", u.Mail)
		}
		fmt.Fprintf(&ldif, "userPassword: %s\n\n", ssha(u.Password))
	}
	add := exec.Command(slapadd, "-f", confFile)
	add.Stdin = &ldif
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	port, sport := freePort(t), freePort(t)
	s := &Server{URL: fmt.Sprintf("ldap://127.0.0.1:%d", port), LDAPSURL: fmt.Sprintf("ldaps://127.0.0.1:%d", sport),
		CAFile: l.CAFile, Pool: pool, done: make(chan struct{})}
	var logs bytes.Buffer
	s.cmd = exec.Command(slapd, "-f", confFile, "-h", s.URL+"/ "+s.LDAPSURL+"/", "-d", "0")
	s.cmd.Stdout, s.cmd.Stderr = &logs, &logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	// Wait (bounded) until both ports accept connections.
	deadline := time.Now().Add(15 * time.Second)
	for _, p := range []int{port, sport} {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-s.done:
				t.Fatalf("slapd exited: %s", logs.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("slapd did not listen on %d within 15 s: %s", p, logs.String())
			}
			time.Sleep(20 * time.Millisecond) // polling for readiness, not timing
		}
	}
	return s
}

// Stop ends slapd (the directory goes down); calling it again is a no-op.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// ssha is userPassword's {SSHA} form.
func ssha(pw string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	h := sha1.New()
	h.Write([]byte(pw))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// DeadURL is an ldap:// URL on a loopback port nothing listens on (for
// failover tests).
func DeadURL(t testing.TB) string { return fmt.Sprintf("ldap://127.0.0.1:%d", freePort(t)) }
