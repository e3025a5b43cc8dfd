package admin_test

import (
	"crypto/rand"
	"errors"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// authKey stores an Auth API integration (no administrative permissions).
func (e *actEnv) authKey(name string) mfa.Integration {
	e.t.Helper()
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	in := mfa.Integration{IKey: ikey, SKey: mfa.Secret(strings.Repeat("s", 40)), Name: name,
		Type: mfa.IntegrationAuthAPI, EnrollPolicy: mfa.EnrollPolicyEnroll, Created: e.clock.Now()}
	if err := e.store.CreateIntegration(e.t.Context(), in); err != nil {
		e.t.Fatal(err)
	}
	return in
}

func TestEnrollByIntegration(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	in := e.authKey("vpn")

	u, link, err := e.svc.EnrollByIntegration(ctx, in, "", nil)
	if err != nil {
		t.Fatalf("EnrollByIntegration(random) = %v", err)
	}
	if !regexp.MustCompile(`^[a-z0-9]{8}$`).MatchString(u.Username) || !strings.HasPrefix(u.ID, mfa.PrefixUser) {
		t.Errorf("random enrollment user = %q %q, want 8 lowercase letters and digits", u.ID, u.Username)
	}
	stored, err := e.store.GetUser(ctx, u.ID)
	if err != nil || stored.Username != u.Username || stored.Status != mfa.StatusActive {
		t.Errorf("GetUser = %+v, %v; want the active user %s", stored, err, u.Username)
	}
	full := string(link.Code)
	rest, ok := strings.CutPrefix(full, "duo://")
	if !ok {
		t.Fatalf("Code = %q, want Duo's duo://<CODE>-<host64>", full)
	}
	code, host, err := admin.ParseActivationCode(full)
	if err != nil || host != testHost {
		t.Errorf("ParseActivationCode(%q) = %q, %q, %v; want host %s", full, code, host, err, testHost)
	}
	if want := "https://" + testHost + "/frame/qr?value=" + url.QueryEscape(full); link.Barcode != want {
		t.Errorf("Barcode = %q, want %q", link.Barcode, want)
	}
	if want := "https://" + testHost + "/activate/" + rest; link.URL != want {
		t.Errorf("URL = %q, want %q", link.URL, want)
	}
	if want := e.clock.Now().Add(24 * time.Hour); !link.Expires.Equal(want) || link.ValidSecs != 86400 {
		t.Errorf("Expires = %v (%d s), want %v (86400 s)", link.Expires, link.ValidSecs, want)
	}

	// The activation is for a phone that redeeming creates.
	act, err := e.store.RedeemActivation(ctx, mfa.Passcode(code), e.clock.Now())
	if err != nil || act.UserID != u.ID || act.PhoneID != "" {
		t.Errorf("RedeemActivation = %+v, %v; want user %s and no phone", act, err, u.ID)
	}

	named, link2, err := e.svc.EnrollByIntegration(ctx, in, " newbie ", ref(600))
	if err != nil || named.Username != "newbie" || !link2.Expires.Equal(e.clock.Now().Add(600*time.Second)) {
		t.Errorf("EnrollByIntegration(newbie, 600) = %+v, expires %v, %v", named, link2.Expires, err)
	}

	// The administrator log names the integration, never the code.
	logs, err := e.store.ListAdminLog(ctx, mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, l := range logs {
		if l.Actor != in.IKey || l.ActorKind != string(admin.ActorIntegration) {
			t.Errorf("admin log %s by %s (%s), want %s (integration)", l.Action, l.Actor, l.ActorKind, in.IKey)
		}
		actions = append(actions, l.Action+" "+l.Object)
	}
	want := []string{"user_create " + u.ID, "auth_enroll " + u.ID, "user_create " + named.ID, "auth_enroll " + named.ID}
	if strings.Join(actions, ",") != strings.Join(want, ",") {
		t.Errorf("admin log = %q, want %q", actions, want)
	}
	e.secretsAbsent(code, string(link2.Code), strings.TrimPrefix(string(link2.Code), "duo://")[:20])
}

func TestEnrollByIntegrationRefusals(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	in := e.authKey("vpn")
	alice := e.user("alice", "")
	alice.Aliases = []string{"ally"}
	if err := e.store.UpdateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	before := e.created()
	tests := []struct {
		name     string
		username string
		secs     *int
		kind     mfa.Kind
		field    string
	}{
		{"existing username", "alice", nil, mfa.Conflict, "username"},
		{"existing username, other case", "ALICE", nil, mfa.Conflict, "username"},
		{"existing alias", "ally", nil, mfa.Conflict, "username"},
		{"control character", "bad\x01name", nil, mfa.Invalid, "username"},
		{"valid_secs 0", "", ref(0), mfa.Invalid, "valid_secs"},
		{"valid_secs over 30 days", "", ref(30*86400 + 1), mfa.Invalid, "valid_secs"},
	}
	for _, tt := range tests {
		_, _, err := e.svc.EnrollByIntegration(ctx, in, tt.username, tt.secs)
		wantKind(t, tt.name, err, tt.kind, tt.field)
	}
	if got := e.created(); got != before {
		t.Errorf("refused enrollments created (activations, batches, users) %v, had %v", got, before)
	}
	var me *mfa.Error
	if _, _, err := e.svc.EnrollByIntegration(ctx, in, "alice", nil); !errors.As(err, &me) || me.Msg != "already exists" {
		t.Errorf("EnrollByIntegration(alice) = %v, want \"username: already exists\"", err)
	}

	noHost := admin.New(e.store, e.clock.Now, rand.Reader, slog.New(slog.DiscardHandler))
	_, _, err := noHost.EnrollByIntegration(ctx, in, "bob", nil)
	wantKind(t, "without a public host", err, mfa.Unavailable, "")
}

func TestEnrollStatus(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	in := e.authKey("vpn")
	u, link, err := e.svc.EnrollByIntegration(ctx, in, "carol", ref(3600))
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := e.svc.EnrollByIntegration(ctx, in, "dave", nil)
	if err != nil {
		t.Fatal(err)
	}
	full := string(link.Code)
	code, _, _ := admin.ParseActivationCode(full)
	status := func(userID, c string) string {
		t.Helper()
		got, err := e.svc.EnrollStatus(ctx, in, userID, c)
		if err != nil {
			t.Fatalf("EnrollStatus(%s, %q) = %v", userID, c, err)
		}
		return got
	}
	tests := []struct {
		name, user, code, want string
	}{
		{"as enroll gave it", u.ID, full, admin.EnrollWaiting},
		{"without duo://", u.ID, strings.TrimPrefix(full, "duo://"), admin.EnrollWaiting},
		{"bare code", u.ID, code, admin.EnrollWaiting},
		{"another user's", other.ID, full, admin.EnrollInvalid},
		{"unknown user", "DUNOBODY000000000000", full, admin.EnrollInvalid},
		{"unknown code", u.ID, "duo://AAAAAAAAAAAAAAAAAAAA-" + strings.Split(full, "-")[1], admin.EnrollInvalid},
		{"not a code", u.ID, "hello", admin.EnrollInvalid},
		{"bad host part", u.ID, code + "-!!", admin.EnrollInvalid},
	}
	for _, tt := range tests {
		if got := status(tt.user, tt.code); got != tt.want {
			t.Errorf("EnrollStatus(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}

	e.clock.Add(time.Hour)
	if got := status(u.ID, full); got != admin.EnrollInvalid {
		t.Errorf("EnrollStatus(expired) = %q, want invalid", got)
	}
	e.clock.Add(-time.Second)
	if _, err := e.store.RedeemActivation(ctx, mfa.Passcode(code), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := status(u.ID, full); got != admin.EnrollSuccess {
		t.Errorf("EnrollStatus(redeemed) = %q, want success", got)
	}
	e.clock.Add(time.Hour) // redeemed stays success until the reaper deletes it
	if got := status(u.ID, code); got != admin.EnrollSuccess {
		t.Errorf("EnrollStatus(redeemed, later) = %q, want success", got)
	}
}
