package authflow_test

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestLogTxIDIsTheRecord: every logged decision names its own auth log
// record, so a front end can hand that exact record on (the id_token's
// auth_context).
func TestLogTxIDIsTheRecord(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", mfa.StatusActive)
	e.token(u, mfa.Token{Type: mfa.TokenH6, Secret: mfa.Secret(seed)})
	for _, code := range []string{"000000", "755224", "755224"} { // incorrect, allow, used
		res := e.auth("alice", code)
		last := e.lastLog(u.ID)
		if res.LogTxID == "" || res.LogTxID != last.TxID || res.LogFactor != last.Factor {
			t.Errorf("Auth(%s) = LogTxID %q factor %q; last record %q %q", code, res.LogTxID, res.LogFactor, last.TxID, last.Factor)
		}
	}
}

// TestSettle decides logins that need no factor with one record each, and
// refuses (writing nothing) for a user who must do a second factor.
func TestSettle(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, status string
		enroll       bool
		wantResult   string
		wantReason   string
	}{
		{"bypass", string(mfa.StatusBypass), false, authflow.ResultAllow, authflow.ReasonBypassUser},
		{"disabled", string(mfa.StatusDisabled), true, authflow.ResultDeny, authflow.ReasonUserDisabled},
		{"unenrolled", string(mfa.StatusActive), false, authflow.ResultDeny, authflow.ReasonNotEnrolled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := e.user(tt.name, mfa.UserStatus(tt.status))
			if tt.enroll {
				e.token(u, mfa.Token{Type: mfa.TokenH6, Secret: mfa.Secret(seed)})
			}
			res, err := e.Svc.Settle(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: tt.name}})
			if err != nil || res.Result != tt.wantResult {
				t.Fatalf("Settle = %+v, %v; want %s", res, err, tt.wantResult)
			}
			logs := e.logs(u.ID)
			if len(logs) != 1 || logs[0].Reason != tt.wantReason || logs[0].TxID != res.LogTxID || logs[0].Factor != authflow.LogFactorNone {
				t.Errorf("log = %+v; want one %s record with txid %s", logs, tt.wantReason, res.LogTxID)
			}
		})
	}
	u := e.user("active", mfa.StatusActive)
	e.token(u, mfa.Token{Type: mfa.TokenH6, Secret: mfa.Secret(seed)})
	if _, err := e.Svc.Settle(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "active"}}); !errors.Is(err, authflow.ErrNeedsFactor) {
		t.Errorf("Settle(active, enrolled) = %v, want ErrNeedsFactor", err)
	}
	if n := len(e.logs(u.ID)); n != 0 {
		t.Errorf("%d records, want none", n)
	}
}

// TestAskRemember: with AskRemember, a passcode allow carries a
// remembered-device token only when Remember is set; the Auth API's
// default (AskRemember unset) is unchanged.
func TestAskRemember(t *testing.T) {
	e := newEnv(t)
	e.In.TrustedDeviceDays = 7
	u := e.user("alice", mfa.StatusActive)
	e.token(u, mfa.Token{Type: mfa.TokenH6, Secret: mfa.Secret(seed)})
	codes := []string{"755224", "287082", "359152"}
	for i, tt := range []struct {
		ask, remember, want bool
	}{{false, false, true}, {true, false, false}, {true, true, true}} {
		res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"},
			Factor: mfa.FactorPasscode, Passcode: mfa.Passcode(codes[i]), AskRemember: tt.ask, Remember: tt.remember})
		if err != nil || res.Result != authflow.ResultAllow {
			t.Fatalf("Auth = %+v, %v", res, err)
		}
		if got := res.TrustedDeviceToken != ""; got != tt.want {
			t.Errorf("ask %v remember %v: token issued = %v, want %v", tt.ask, tt.remember, got, tt.want)
		}
	}
}

// TestLoginBinding: Login returns a browser login only to the browser
// holding its binding secret.
func TestLoginBinding(t *testing.T) {
	e := newEnv(t)
	id, _ := mfa.NewLoginRequestID(rand.Reader)
	secret, _ := mfa.NewBindingSecret(rand.Reader)
	in := mfa.Integration{IKey: e.id(mfa.PrefixIntegration), SKey: mfa.Secret("0123456789012345678901234567890123456789"),
		Name: "web", Type: mfa.IntegrationWebSDK, RedirectURIs: []string{"https://app.example/cb"}, Created: e.Clock.Now()}
	if err := e.Store.CreateIntegration(e.ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.CreateLoginRequest(e.ctx, mfa.LoginRequest{ID: id, IKey: in.IKey, Username: "alice",
		RedirectURI: "https://app.example/cb", State: "s", ReturnPath: "/r", BindingHash: mfa.BindingHash(secret),
		Created: e.Clock.Now(), Expires: e.Clock.Now().Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if lr, got, err := e.Svc.Login(e.ctx, id, secret); err != nil || lr.ID != id || got.IKey != in.IKey {
		t.Errorf("Login(right secret) = %v, %v", lr.ID, err)
	}
	for _, s := range []string{"", "wrong"} {
		if _, _, err := e.Svc.Login(e.ctx, id, s); !errors.Is(err, mfa.ErrDenied) && !isKind(err, mfa.Denied) {
			t.Errorf("Login(%q) = %v, want Denied", s, err)
		}
	}
	if _, _, err := e.Svc.Login(e.ctx, "nosuch", secret); !isKind(err, mfa.NotFound) {
		t.Errorf("Login(unknown) = %v, want NotFound", err)
	}
}

func isKind(err error, k mfa.Kind) bool {
	var me *mfa.Error
	return errors.As(err, &me) && me.Kind == k
}
