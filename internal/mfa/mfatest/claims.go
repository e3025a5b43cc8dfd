package mfatest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Tests of an AuthWrite's Claim and Hits (the signature claim and durable
// rate-limit hits carried by the decision's own write) and of
// LoginAccount. They are part of the ApplyAuth and Users areas.

func claimWriteTests() []storeTest {
	return []storeTest{
		{"ClaimInWrite", testApplyClaim},
		{"ReplayCountsNothing", testApplyReplayCountsNothing},
		{"HitsInWrite", testApplyHits},
		{"GuardLostKeepsClaimAndHits", testApplyGuardLostKeeps},
		{"ClaimAndFailure", testApplyClaimFailure},
		{"ClaimBypassCode", testApplyClaimBypass},
		{"ClaimInvalid", testApplyClaimInvalid},
		{"ClaimConcurrent", testApplyClaimConcurrent},
	}
}

func loginAccountTests() []storeTest {
	return []storeTest{
		{"LoginAccount", testLoginAccount},
		{"LoginAccountUnknown", testLoginAccountUnknown},
	}
}

// hitCount reports how many hits key holds in its live window, by hitting
// it once more (limit 1000) and subtracting that hit.
func hitCount(t *testing.T, s mfa.Store, key string, now time.Time) int {
	t.Helper()
	r, err := s.HitRateLimit(t.Context(), key, 1000, time.Minute, now)
	check(t, "HitRateLimit("+key+")", err)
	return r.Count - 1
}

func newClaim(name string, now time.Time) *mfa.SignatureClaim {
	return &mfa.SignatureClaim{Key: sigKey(name), Now: now, Expires: now.Add(5 * time.Minute)}
}

func newHit(key string, limit int, now time.Time) mfa.RateHit {
	return mfa.RateHit{Key: key, Limit: limit, Window: time.Minute, Now: now, Msg: "too many for " + key}
}

// testApplyClaim: a write's claim is claimed with it; the same claim
// again is Conflict on the signature and writes nothing.
func testApplyClaim(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	e := newLogEntry(t, u.ID, at(0))
	_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: at(0), Log: &e, Claim: newClaim("a", at(0))})
	check(t, "ApplyAuth(claim a)", err)
	wantClaimed(t, "ClaimSignature(a) after the write", claim(t, s, sigKey("a"), at(time.Second), at(time.Minute)))

	e2 := newLogEntry(t, u.ID, at(time.Second))
	_, err = s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, CountFailure: true, Threshold: 1, At: at(time.Second), Log: &e2,
		Claim: newClaim("a", at(time.Second))})
	if !mfa.IsSignatureConflict(err) {
		t.Fatalf("ApplyAuth(claim a again) = %v, want Conflict on the signature", err)
	}
	if got := authLog(t, s); len(got) != 1 || got[0].TxID != e.TxID {
		t.Errorf("auth log = %+v, want only the first write's record", got)
	}
	if got := getUser(t, s, u.ID); got.Status != mfa.StatusActive || got.FailedAttempts != 0 {
		t.Errorf("user after the replayed write = %s with %d failures, want active with 0", got.Status, got.FailedAttempts)
	}
	// A claim that expired is taken over, as by ClaimSignature.
	_, err = s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: at(6 * time.Minute), Claim: newClaim("a", at(6*time.Minute))})
	check(t, "ApplyAuth(claim a after its expiry)", err)
}

// testApplyReplayCountsNothing: a write whose claim loses counts none of
// its hits.
func testApplyReplayCountsNothing(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	check(t, "ClaimSignature(r)", claim(t, s, sigKey("r"), at(0), at(time.Minute)))
	_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: at(0), Claim: newClaim("r", at(0)),
		Hits: []mfa.RateHit{newHit("ip:192.0.2.1", 5, at(0)), newHit("user:"+u.ID, 5, at(0))}})
	if !mfa.IsSignatureConflict(err) {
		t.Fatalf("ApplyAuth(replayed claim) = %v, want Conflict on the signature", err)
	}
	for _, k := range []string{"ip:192.0.2.1", "user:" + u.ID} {
		if n := hitCount(t, s, k, at(time.Second)); n != 0 {
			t.Errorf("hits on %s after a replay = %d, want 0", k, n)
		}
	}
}

// testApplyHits: hits are counted with the write; the write whose hit is
// over its limit is RateLimited until the window ends, writes nothing else,
// and keeps its claim and its counts; a later hit is not counted when an
// earlier one is over.
func testApplyHits(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	write := func(i int, name string) error {
		now := at(time.Duration(i) * time.Second)
		e := newLogEntry(t, u.ID, now)
		_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, CountFailure: true, At: now, Log: &e, Claim: newClaim(name, now),
			Hits: []mfa.RateHit{newHit("ip:a", 2, now), newHit("user:"+u.ID, 10, now)}})
		return err
	}
	check(t, "ApplyAuth(1)", write(0, "h1"))
	check(t, "ApplyAuth(2)", write(1, "h2"))
	err := write(2, "h3")
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.RateLimited || me.Msg != "too many for ip:a" || me.RetryAfter != 58*time.Second {
		t.Fatalf("ApplyAuth(3) = %#v, want RateLimited %q retry 58s", err, "too many for ip:a")
	}
	if got := len(authLog(t, s)); got != 2 {
		t.Errorf("auth log has %d records, want 2 (none for the limited write)", got)
	}
	if got := getUser(t, s, u.ID).FailedAttempts; got != 2 {
		t.Errorf("failed attempts = %d, want 2", got)
	}
	wantClaimed(t, "ClaimSignature(h3) after the limited write", claim(t, s, sigKey("h3"), at(3*time.Second), at(time.Minute)))
	if n := hitCount(t, s, "ip:a", at(3*time.Second)); n != 3 {
		t.Errorf("hits on ip:a = %d, want 3 (the refused one counts)", n)
	}
	if n := hitCount(t, s, "user:"+u.ID, at(3*time.Second)); n != 2 {
		t.Errorf("hits on the user = %d, want 2 (not counted after the address was over)", n)
	}
}

// testApplyGuardLostKeepsClaimAndHits: a write whose guard loses is
// Conflict (not on the signature), writes no log and no user change, and
// keeps its claim and hits.
func testApplyGuardLostKeeps(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	tk := NewToken(t, s, mfa.TokenH6, func(tk *mfa.Token) { tk.Counter = 5 })
	e := newLogEntry(t, u.ID, at(0))
	_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: at(0), Log: &e, Claim: newClaim("g", at(0)),
		Guard: mfa.Guard{Kind: mfa.GuardTokenCounter, ID: tk.ID, Counter: 4, Now: at(0)},
		Hits:  []mfa.RateHit{newHit("user:"+u.ID, 10, at(0))}})
	if !errors.Is(err, mfa.ErrConflict) || mfa.IsSignatureConflict(err) {
		t.Fatalf("ApplyAuth(used counter) = %v, want Conflict on the passcode", err)
	}
	if got := len(authLog(t, s)); got != 0 {
		t.Errorf("auth log has %d records, want 0", got)
	}
	wantClaimed(t, "ClaimSignature(g) after the lost guard", claim(t, s, sigKey("g"), at(time.Second), at(time.Minute)))
	if n := hitCount(t, s, "user:"+u.ID, at(time.Second)); n != 1 {
		t.Errorf("hits on the user = %d, want 1", n)
	}
	// The next write of the same request carries neither and decides.
	e2 := newLogEntry(t, u.ID, at(0))
	_, err = s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, At: at(0), Log: &e2})
	check(t, "ApplyAuth(the deny after the lost guard)", err)
	_, err = s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: at(0), Claim: newClaim("g2", at(0)),
		Guard: mfa.Guard{Kind: mfa.GuardTokenCounter, ID: "DHXXXXXXXXXXXXXXXXX0", Counter: 7, Now: at(0)}})
	wantKind(t, "ApplyAuth(unknown token)", err, mfa.NotFound)
	wantClaimed(t, "ClaimSignature(g2) after the unknown token", claim(t, s, sigKey("g2"), at(time.Second), at(time.Minute)))
	if got := getToken(t, s, tk.ID).Counter; got != 5 {
		t.Errorf("token counter = %d, want 5", got)
	}
}

// testApplyClaimFailure: a claim with a counted failure that locks the
// user out reports the lockout as without a claim.
func testApplyClaimFailure(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s, func(u *mfa.User) { u.FailedAttempts = 0 })
	var out mfa.AuthOutcome
	var err error
	for i := range 2 {
		now := at(time.Duration(i) * time.Second)
		e := newLogEntry(t, u.ID, now)
		out, err = s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, CountFailure: true, Threshold: 2, At: now, Log: &e,
			Claim: newClaim("f"+string(rune('0'+i)), now), Hits: []mfa.RateHit{newHit("user:"+u.ID, 10, now)}})
		check(t, "ApplyAuth(failure)", err)
	}
	want := mfa.FailureResult{FailedAttempts: 2, Status: mfa.StatusLockedOut, LockedOut: true}
	if diff := cmp.Diff(want, out.Failure); diff != "" {
		t.Errorf("second failure (-want +got):\n%s", diff)
	}
	if got := getUser(t, s, u.ID); got.Status != mfa.StatusLockedOut || !got.LockedAt.Equal(at(time.Second)) {
		t.Errorf("user = %s locked at %v, want locked out at %v", got.Status, got.LockedAt, at(time.Second))
	}
}

// testApplyClaimBypass: a claim rides with a bypass-code guard too.
func testApplyClaimBypass(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	codes := newCodes(t, u.ID, 1, func(i int, c *mfa.BypassCode) { c.UsesLeft = 1 })
	createCodes(t, s, u.ID, false, codes)
	g := mfa.Guard{Kind: mfa.GuardBypassCode, Code: codes[0].Code, Now: at(time.Minute)}
	_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: at(0), Guard: g, Claim: newClaim("b1", at(0))})
	check(t, "ApplyAuth(bypass code with a claim)", err)
	_, err = s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: at(0), Guard: g, Claim: newClaim("b2", at(0))})
	wantKind(t, "ApplyAuth(spent bypass code)", err, mfa.NotFound)
	wantClaimed(t, "ClaimSignature(b2) after the spent code", claim(t, s, sigKey("b2"), at(time.Second), at(time.Minute)))
}

func testApplyClaimInvalid(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	for name, w := range map[string]mfa.AuthWrite{
		"short key":    {Claim: &mfa.SignatureClaim{Key: "abc", Now: at(0), Expires: at(time.Minute)}},
		"expired":      {Claim: &mfa.SignatureClaim{Key: sigKey("x"), Now: at(time.Minute), Expires: at(0)}},
		"empty key":    {Hits: []mfa.RateHit{{Limit: 1, Window: time.Minute, Now: at(0)}}},
		"zero limit":   {Hits: []mfa.RateHit{{Key: "k", Window: time.Minute, Now: at(0)}}},
		"zero window":  {Hits: []mfa.RateHit{{Key: "k", Limit: 1, Now: at(0)}}},
		"second wrong": {Hits: []mfa.RateHit{newHit("k", 1, at(0)), {Key: "k2", Limit: 1, Now: at(0)}}},
	} {
		w.UserID, w.Success, w.At = u.ID, true, at(0)
		_, err := s.ApplyAuth(ctx, w)
		wantKind(t, "ApplyAuth("+name+")", err, mfa.Invalid)
	}
	if n := hitCount(t, s, "k", at(0)); n != 0 {
		t.Errorf("hits on k after invalid writes = %d, want 0", n)
	}
}

// testApplyClaimConcurrent: the same signed request decided on many nodes
// at once: exactly one write runs; the others are Conflict on the
// signature and count nothing.
func testApplyClaimConcurrent(t *testing.T, s mfa.Store) {
	const n = 40
	u := NewUser(t, s)
	errs := Race(t, n, func(ctx context.Context, i int) error {
		e := newLogEntry(t, u.ID, at(0))
		_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, CountFailure: true, At: at(0), Log: &e,
			Claim: newClaim("same", at(0)), Hits: []mfa.RateHit{newHit("user:"+u.ID, 100, at(0))}})
		if err != nil && !mfa.IsSignatureConflict(err) {
			return errors.New("not a signature conflict: " + err.Error())
		}
		return err
	})
	wantRace(t, "ApplyAuth(same claim)", errs, 1, mfa.Conflict)
	if got := len(authLog(t, s)); got != 1 {
		t.Errorf("auth log has %d records, want 1", got)
	}
	if got := getUser(t, s, u.ID).FailedAttempts; got != 1 {
		t.Errorf("failed attempts = %d, want 1", got)
	}
	if c := hitCount(t, s, "user:"+u.ID, at(time.Second)); c != 1 {
		t.Errorf("hits on the user = %d, want 1", c)
	}
}

// testLoginAccount: one read returns the user (by id, or by username or
// alias in any case) with what UserPhones, UserTokens, UserGroups and
// UserAuthenticators return.
func testLoginAccount(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s, func(u *mfa.User) { u.Aliases = []string{"Alias-One"} })
	other := NewUser(t, s)
	p1, p2 := NewPhone(t, s), NewPhone(t, s)
	for _, p := range []mfa.Phone{p1, p2} {
		check(t, "AttachPhone", s.AttachPhone(ctx, u.ID, p.ID))
	}
	check(t, "AttachPhone(other)", s.AttachPhone(ctx, other.ID, NewPhone(t, s).ID))
	tk := NewToken(t, s, mfa.TokenH6)
	check(t, "AttachToken", s.AttachToken(ctx, u.ID, tk.ID))
	g := NewGroup(t, s)
	check(t, "AddGroupMember", s.AddGroupMember(ctx, g.ID, u.ID))
	NewAuthenticator(t, s, p1.ID)
	old := NewAuthenticator(t, s, p2.ID)
	check(t, "RevokeAuthenticator", s.RevokeAuthenticator(ctx, old.ID))
	NewAuthenticator(t, s, p2.ID)

	var want mfa.Account
	var err error
	want.User = getUser(t, s, u.ID)
	want.Phones, err = s.UserPhones(ctx, u.ID)
	check(t, "UserPhones", err)
	want.Tokens, err = s.UserTokens(ctx, u.ID)
	check(t, "UserTokens", err)
	want.Groups, err = s.UserGroups(ctx, u.ID)
	check(t, "UserGroups", err)
	want.Authenticators, err = s.UserAuthenticators(ctx, u.ID)
	check(t, "UserAuthenticators", err)
	if len(want.Phones) != 2 || len(want.Tokens) != 1 || len(want.Groups) != 1 || len(want.Authenticators) != 2 {
		t.Fatalf("fixture = %d phones, %d tokens, %d groups, %d authenticators, want 2, 1, 1, 2",
			len(want.Phones), len(want.Tokens), len(want.Groups), len(want.Authenticators))
	}
	for _, by := range []struct{ id, name string }{{u.ID, ""}, {"", u.Username}, {"", strings.ToUpper(u.Username)}, {"", "alias-one"}} {
		got, err := s.LoginAccount(ctx, mfa.AccountQuery{UserID: by.id, Name: by.name})
		check(t, "LoginAccount("+by.id+by.name+")", err)
		if diff := cmp.Diff(want, got, cmpOpts, sortPhones, sortTokens, sortAuthenticators); diff != "" {
			t.Errorf("LoginAccount(%q, %q) mismatch (-want +got):\n%s", by.id, by.name, diff)
		}
	}
	// With the revoked installs and the SMS passcodes: one used of a
	// live batch on p1, an expired batch on p2.
	b1 := newBatch(t, u.ID, p1.ID, 3, at(time.Hour))
	check(t, "ReplaceSMSBatch(p1)", s.ReplaceSMSBatch(ctx, b1))
	check(t, "ReplaceSMSBatch(p2)", s.ReplaceSMSBatch(ctx, newBatch(t, u.ID, p2.ID, 3, at(time.Minute))))
	_, err = useSMS(t, s, u.ID, b1.Codes[0], at(time.Second))
	check(t, "ApplyAuth(SMS code 0)", err)
	want.User = getUser(t, s, u.ID) // its last login moved
	want.Revoked, err = s.RevokedAuthenticators(ctx, u.ID, mfa.RevokedLimit)
	check(t, "RevokedAuthenticators", err)
	if len(want.Revoked) != 1 {
		t.Fatalf("RevokedAuthenticators() = %d installs, want 1", len(want.Revoked))
	}
	want.SMSNext = map[string]int{p1.ID: 1}
	got, err := s.LoginAccount(ctx, mfa.AccountQuery{Name: "ALIAS-ONE", Revoked: true, SMSAt: at(2 * time.Minute)})
	check(t, "LoginAccount(with revoked and SMS)", err)
	if diff := cmp.Diff(want, got, cmpOpts, sortPhones, sortTokens, sortAuthenticators); diff != "" {
		t.Errorf("LoginAccount(with revoked and SMS) mismatch (-want +got):\n%s", diff)
	}
	// A user with nothing.
	got, err = s.LoginAccount(ctx, mfa.AccountQuery{Name: NewUser(t, s).Username, Revoked: true, SMSAt: at(0)})
	check(t, "LoginAccount(bare user)", err)
	if len(got.Phones)+len(got.Tokens)+len(got.Groups)+len(got.Authenticators)+len(got.Revoked)+len(got.SMSNext) != 0 {
		t.Errorf("LoginAccount(bare user) = %+v, want no devices or groups", got)
	}
}

func testLoginAccountUnknown(t *testing.T, s mfa.Store) {
	NewUser(t, s)
	_, err := s.LoginAccount(t.Context(), mfa.AccountQuery{Name: "nobody"})
	wantKind(t, "LoginAccount(unknown name)", err, mfa.NotFound)
	_, err = s.LoginAccount(t.Context(), mfa.AccountQuery{UserID: "DUXXXXXXXXXXXXXXXXXX", Revoked: true})
	wantKind(t, "LoginAccount(unknown id)", err, mfa.NotFound)
}
