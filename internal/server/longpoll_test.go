package server_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	"github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// pipeListener hands the server the far ends of in-memory connections
// (net.Pipe), whose deadlines run on the synctest bubble's clock.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	select {
	case <-l.closed:
	default:
		close(l.closed)
	}
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 443} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, srv := net.Pipe()
	select {
	case l.conns <- srv:
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestLongestPushAnswersOverTLS: a synchronous push with the largest
// push_timeout_seconds accepted (300 s) outlives the server's ordinary
// write deadline (90 s), and must still end in Duo's answer over TLS, not
// a broken connection. The real handler and the production http.Server
// run over TLS on in-memory connections in a synctest bubble, so the
// 300 s pass on the bubble's clock in no wall time.
func TestLongestPushAnswersOverTLS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
		log := slog.New(slog.NewTextHandler(io.Discard, nil))

		// An Auth API integration, the longest accepted push timeout, and
		// a user whose app never answers.
		ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
		skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
		if err := st.CreateIntegration(ctx, mfa.Integration{IKey: ikey, SKey: mfa.Secret(skey), Name: "vpn",
			Type: mfa.IntegrationAuthAPI, EnrollPolicy: mfa.EnrollPolicyEnroll, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		settings, err := st.GetSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		settings.PushTimeout = admin.MaxPushTimeoutSeconds * time.Second
		if err := st.PutSettings(ctx, settings); err != nil {
			t.Fatal(err)
		}
		uid, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
		if err := st.CreateUser(ctx, mfa.User{ID: uid, Username: "alice", Status: mfa.StatusActive, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		pid, _ := mfa.NewID(mfa.PrefixPhone, rand.Reader)
		if err := st.CreatePhone(ctx, mfa.Phone{ID: pid, Number: "+15555550100", Name: "Alice's phone", Type: mfa.PhoneMobile, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := st.AttachPhone(ctx, uid, pid); err != nil {
			t.Fatal(err)
		}
		aid, _ := mfa.NewID(mfa.PrefixAuthenticator, rand.Reader)
		if err := st.ActivateAuthenticator(ctx, mfa.Authenticator{ID: aid, PhoneID: pid, UserID: uid,
			Status: mfa.AuthenticatorActive, PublicKey: mfa.Secret("pem"), HOTPSecret: []byte("12345678901234567890"), Created: time.Now()}); err != nil {
			t.Fatal(err)
		}

		h := server.New(server.Deps{Store: st, Logger: log, Now: time.Now, Flow: authflow.New(st, time.Now, rand.Reader, log)})
		l, err := certs.EnsureLocal(t.TempDir(), nil, time.Now(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		caPEM, _ := os.ReadFile(l.CAFile)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		srv := server.NewHTTPServer(h, &tls.Config{Certificates: []tls.Certificate{pair}}, log)
		ln := newPipeListener()
		served := make(chan error, 1)
		go func() { served <- srv.ServeTLS(ln, "", "") }()
		var tr *http.Transport
		defer func() { // deferred, so that it runs after a t.Fatal too
			if tr != nil {
				tr.CloseIdleConnections()
			}
			srv.Close()
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("ServeTLS = %v", err)
			}
		}()

		duo := authapi.NewAuthApi(*duoapi.NewDuoApi(ikey, skey, "localhost", "twostep-test",
			duoapi.SetTimeout(server.LongPollWriteTimeout+time.Minute),
			duoapi.SetTransport(func(t *http.Transport) {
				t.TLSClientConfig.RootCAs = pool
				t.DialContext = ln.dial
				t.Proxy = nil
				tr = t
			})))

		start := time.Now()
		res, err := duo.Auth("push", authapi.AuthUsername("alice"), authapi.AuthDevice("auto"))
		waited := time.Since(start)
		if err != nil {
			t.Fatalf("synchronous push with push_timeout_seconds=%d: %v after %v, want Duo's answer", admin.MaxPushTimeoutSeconds, err, waited)
		}
		if res.Stat != "OK" || res.Response.Result != "deny" || res.Response.Status != "timeout" {
			t.Errorf("Auth(push) = %+v, want OK deny timeout", res)
		}
		if want := admin.MaxPushTimeoutSeconds * time.Second; waited < want || waited <= server.WriteTimeout {
			t.Errorf("the push answered after %v, want %v (beyond the write timeout %v)", waited, want, server.WriteTimeout)
		}
	})
}
