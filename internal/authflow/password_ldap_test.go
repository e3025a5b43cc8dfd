package authflow_test

import (
	"sort"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/ldapdir"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/slapdtest"
)

// TestPasswordLDAP: the first factor against Debian's slapd over
// StartTLS: a directory user logs in; a wrong password and an unknown user
// get the same message in about the same time; the directory down is
// "try again later", never an acceptance.
func TestPasswordLDAP(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.User{UID: "dana", Password: "dana's directory password", Mail: "dana@example.com", CN: "Dana Scully"})
	dir, err := ldapdir.New(ldapdir.Config{URLs: []string{s.URL}, StartTLS: true, RootCAs: s.Pool, ServerName: "localhost",
		BindDN: slapdtest.BindDN, BindPassword: slapdtest.BindPassword, BaseDN: slapdtest.BaseDN,
		UserFilter: "(&(objectClass=inetOrgPerson)(uid={username}))", Timeout: 3 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := ffEnv(t, dir, func(o *authflow.FirstFactorOptions) {
		o.Sources = map[authflow.Surface][]string{authflow.SurfaceOIDC: {authflow.SourceDirectory}}
	})
	dana := e.user("dana", mfa.StatusActive)

	res, err := e.pw("dana", "dana's directory password")
	if err != nil || res.User.ID != dana.ID || res.Source != authflow.SourceDirectory || res.Directory.RealName != "Dana Scully" {
		t.Fatalf("CheckPassword(dana) = %+v, %v", res, err)
	}
	median := func(user string) time.Duration {
		var ds []time.Duration
		for range 9 {
			start := time.Now()
			_, err := e.pw(user, "not the password")
			ds = append(ds, time.Since(start))
			wantErrKind(t, "CheckPassword("+user+", wrong)", err, mfa.Unauthorized, authflow.MsgBadPassword)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	wrong, unknown := median("dana"), median("nobody")
	ratio := float64(unknown) / float64(wrong)
	t.Logf("median: wrong password %v, unknown user %v (ratio %.2f)", wrong, unknown, ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Errorf("unknown user %v vs wrong password %v: ratio %.2f, want about 1", unknown, wrong, ratio)
	}
	s.Stop()
	_, err = e.pw("dana", "dana's directory password")
	wantErrKind(t, "CheckPassword(directory down)", err, mfa.Unavailable, authflow.MsgDirectoryDown)
}
