package authflow_test

import (
	"testing"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

func (e *env) group(name string, st mfa.GroupStatus, members ...mfa.User) mfa.Group {
	e.t.Helper()
	g := mfa.Group{ID: e.id(mfa.PrefixGroup), Name: name, Status: st, Created: e.Clock.Now()}
	if err := e.Store.CreateGroup(e.ctx, g); err != nil {
		e.t.Fatal(err)
	}
	for _, u := range members {
		if err := e.Store.AddGroupMember(e.ctx, g.ID, u.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	return g
}

// TestGroupStatus: a group's status applies to its members, the most
// restrictive winning (disabled, then lockout, then bypass), at preauth,
// at auth, and when a push is approved.
func TestGroupStatus(t *testing.T) {
	e := newEnv(t)
	mk := func(name string, st mfa.UserStatus) mfa.User {
		u := e.user(name, st)
		e.app(u, 0, false)
		return u
	}
	inBypass := mk("alice", mfa.StatusActive)
	inDisabled := mk("bob", mfa.StatusActive)
	inBoth := mk("carol", mfa.StatusBypass)
	lockedInBypass := mk("dave", mfa.StatusLockedOut)
	disabledInBypass := mk("erin", mfa.StatusDisabled)
	inActive := mk("frank", mfa.StatusActive)
	bypassInActive := mk("grace", mfa.StatusBypass)
	e.group("bypass", mfa.GroupBypass, inBypass, inBoth, lockedInBypass, disabledInBypass)
	e.group("disabled", mfa.GroupDisabled, inDisabled, inBoth)
	e.group("active", mfa.GroupActive, inActive, bypassInActive)

	tests := []struct {
		give        string
		wantPreauth string
		wantMsg     string
		wantAuth    string
		wantReason  string
	}{
		{"alice", authflow.ResultAllow, authflow.MsgBypassUser, authflow.ResultAllow, authflow.ReasonBypassUser},
		{"bob", authflow.ResultDeny, authflow.MsgDisabled, authflow.ResultDeny, authflow.ReasonUserDisabled},
		{"carol", authflow.ResultDeny, authflow.MsgDisabled, authflow.ResultDeny, authflow.ReasonUserDisabled},
		{"dave", authflow.ResultDeny, authflow.MsgLockedOut, authflow.ResultDeny, authflow.ReasonLockedOut},
		{"erin", authflow.ResultDeny, authflow.MsgDisabled, authflow.ResultDeny, authflow.ReasonUserDisabled},
		{"frank", authflow.ResultAuth, "Account is active", authflow.ResultDeny, authflow.ReasonInvalidPasscode},
		{"grace", authflow.ResultAllow, authflow.MsgBypassUser, authflow.ResultAllow, authflow.ReasonBypassUser},
	}
	for _, tt := range tests {
		got, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: authflow.Who{Username: tt.give}})
		if err != nil {
			t.Fatalf("Preauth(%s) = %v", tt.give, err)
		}
		if got.Result != tt.wantPreauth || got.StatusMsg != tt.wantMsg {
			t.Errorf("Preauth(%s) = %s %q, want %s %q", tt.give, got.Result, got.StatusMsg, tt.wantPreauth, tt.wantMsg)
		}
		res := e.auth(tt.give, "000000")
		u, err := e.Store.GetUserByName(e.ctx, tt.give)
		if err != nil {
			t.Fatal(err)
		}
		if l := e.lastLog(u.ID); res.Result != tt.wantAuth || l.Reason != tt.wantReason {
			t.Errorf("Auth(%s) = %s (log reason %s), want %s (%s)", tt.give, res.Result, l.Reason, tt.wantAuth, tt.wantReason)
		}
	}
}

// TestGroupsAllowed: an integration limited to groups denies everyone
// outside them (known or not) at preauth and auth, with a logged reason.
func TestGroupsAllowed(t *testing.T) {
	e := newEnv(t)
	member := e.user("alice", mfa.StatusActive)
	e.app(member, 0, false)
	outsider := e.user("bob", mfa.StatusBypass) // bypass does not open a closed application
	e.app(outsider, 0, false)
	g := e.group("vpn users", mfa.GroupActive, member)
	e.group("others", mfa.GroupActive, outsider)
	in := e.In
	in.GroupsAllowed = []string{g.ID}
	in.EnrollPolicy = mfa.EnrollPolicyAllow

	tests := []struct {
		give string
		want string
		msg  string
	}{
		{"alice", authflow.ResultAuth, "Account is active"},
		{"bob", authflow.ResultDeny, authflow.MsgNotPermitted},
		{"nobody", authflow.ResultDeny, authflow.MsgNotPermitted}, // unknown: in no group, whatever the enroll policy
	}
	for _, tt := range tests {
		got, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: in, Who: authflow.Who{Username: tt.give}})
		if err != nil {
			t.Fatalf("Preauth(%s) = %v", tt.give, err)
		}
		if got.Result != tt.want || got.StatusMsg != tt.msg {
			t.Errorf("Preauth(%s) = %s %q, want %s %q", tt.give, got.Result, got.StatusMsg, tt.want, tt.msg)
		}
	}
	res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: in, Who: authflow.Who{Username: "bob"},
		Factor: mfa.FactorPush, IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if l := e.lastLog(outsider.ID); res.Result != authflow.ResultDeny || l.Reason != authflow.ReasonNotPermitted {
		t.Errorf("Auth(bob, push) = %s (log reason %s), want deny (%s)", res.Result, l.Reason, authflow.ReasonNotPermitted)
	}
	// Without the restriction bob (bypass) is let in.
	res, err = e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "bob"},
		Factor: mfa.FactorPush, IP: "192.0.2.1"})
	if err != nil || res.Result != authflow.ResultAllow {
		t.Errorf("Auth(bob, push) without groups_allowed = %+v, %v; want allow", res, err)
	}
}
