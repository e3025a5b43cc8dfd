package mfatest

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// NewID returns a fresh id with prefix (mfa.PrefixUser, ...), drawn from
// crypto/rand.
func NewID(t testing.TB, prefix string) string {
	t.Helper()
	id, err := mfa.NewID(prefix, rand.Reader)
	if err != nil {
		t.Fatalf("NewID(%q) = %v", prefix, err)
	}
	return id
}

// NewTxID returns a fresh transaction id shaped like Duo's (a UUID).
func NewTxID(t testing.TB) string {
	t.Helper()
	b := randomBytes(t, 16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand.Read = %v", err)
	}
	return b
}

// NewSecret returns n random bytes as a Secret.
func NewSecret(t testing.TB, n int) mfa.Secret {
	t.Helper()
	return mfa.Secret(randomBytes(t, n))
}

// NewUser stores an active user with a unique username, created at the
// suite's epoch, after applying mods, and returns the user as stored.
func NewUser(t testing.TB, s mfa.UserStore, mods ...func(*mfa.User)) mfa.User {
	t.Helper()
	id := NewID(t, mfa.PrefixUser)
	u := mfa.User{
		ID:       id,
		Username: "user-" + strings.ToLower(id[len(mfa.PrefixUser):]),
		RealName: "Test User",
		Email:    strings.ToLower(id) + "@example.com",
		Status:   mfa.StatusActive,
		Created:  at(0),
	}
	for _, mod := range mods {
		mod(&u)
	}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s %q) = %v, want nil", u.ID, u.Username, err)
	}
	return u
}

// NewPhone stores a mobile phone with a unique number after applying mods.
func NewPhone(t testing.TB, s mfa.PhoneStore, mods ...func(*mfa.Phone)) mfa.Phone {
	t.Helper()
	p := mfa.Phone{
		ID:      NewID(t, mfa.PrefixPhone),
		Number:  "+1555" + digitsOf(t, 7),
		Name:    "test phone",
		Type:    mfa.PhoneMobile,
		Created: at(0),
	}
	for _, mod := range mods {
		mod(&p)
	}
	if err := s.CreatePhone(t.Context(), p); err != nil {
		t.Fatalf("CreatePhone(%s) = %v, want nil", p.ID, err)
	}
	return p
}

// NewToken stores a token of type typ (with the secrets that type needs)
// and a unique serial, after applying mods.
func NewToken(t testing.TB, s mfa.TokenStore, typ mfa.TokenType, mods ...func(*mfa.Token)) mfa.Token {
	t.Helper()
	id := NewID(t, mfa.PrefixToken)
	tk := mfa.Token{
		ID:      id,
		Type:    typ,
		Serial:  "serial-" + strings.ToLower(id[len(mfa.PrefixToken):]),
		Created: at(0),
	}
	switch typ {
	case mfa.TokenYK:
		tk.PrivateID = NewSecret(t, 6)
		tk.AESKey = NewSecret(t, 16)
	case mfa.TokenT6, mfa.TokenT8:
		tk.Secret = NewSecret(t, 20)
		tk.TOTPStep = 30
	default:
		tk.Secret = NewSecret(t, 20)
	}
	for _, mod := range mods {
		mod(&tk)
	}
	if err := s.CreateToken(t.Context(), tk); err != nil {
		t.Fatalf("CreateToken(%s) = %v, want nil", tk.ID, err)
	}
	return tk
}

// NewAuthenticator activates an install on phoneID after applying mods, and
// returns it as stored (active).
func NewAuthenticator(t testing.TB, s mfa.AuthenticatorStore, phoneID string, mods ...func(*mfa.Authenticator)) mfa.Authenticator {
	t.Helper()
	a := mfa.Authenticator{
		ID:         NewID(t, mfa.PrefixAuthenticator),
		PhoneID:    phoneID,
		Status:     mfa.AuthenticatorActive,
		PublicKey:  mfa.Secret("-----BEGIN PUBLIC KEY-----\n" + hex.EncodeToString(randomBytes(t, 32)) + "\n-----END PUBLIC KEY-----\n"),
		HOTPSecret: NewSecret(t, 20),
		Platform:   "generic smartphone",
		AppVersion: "1.0.0",
		Created:    at(0),
	}
	for _, mod := range mods {
		mod(&a)
	}
	if err := s.ActivateAuthenticator(t.Context(), a); err != nil {
		t.Fatalf("ActivateAuthenticator(%s on %s) = %v, want nil", a.ID, a.PhoneID, err)
	}
	return a
}

// NewIntegration stores an integration of type typ with a fresh ikey and
// skey, after applying mods.
func NewIntegration(t testing.TB, s mfa.IntegrationStore, typ mfa.IntegrationType, mods ...func(*mfa.Integration)) mfa.Integration {
	t.Helper()
	in := mfa.Integration{
		IKey:         NewID(t, mfa.PrefixIntegration),
		SKey:         mfa.Secret(hex.EncodeToString(randomBytes(t, 20))),
		Name:         "test " + string(typ),
		Type:         typ,
		EnrollPolicy: mfa.EnrollPolicyEnroll,
		Created:      at(0),
	}
	if typ == mfa.IntegrationAdminAPI {
		in.Permissions = mfa.AllAdminPermissions()
	}
	for _, mod := range mods {
		mod(&in)
	}
	if err := s.CreateIntegration(t.Context(), in); err != nil {
		t.Fatalf("CreateIntegration(%s) = %v, want nil", in.IKey, err)
	}
	return in
}

// NewAdmin stores an administrator with a unique email after applying mods.
func NewAdmin(t testing.TB, s mfa.AdminStore, mods ...func(*mfa.Admin)) mfa.Admin {
	t.Helper()
	id := NewID(t, mfa.PrefixAdmin)
	a := mfa.Admin{
		ID:           id,
		Email:        "admin-" + strings.ToLower(id[len(mfa.PrefixAdmin):]) + "@example.com",
		Name:         "Test Admin",
		Role:         mfa.RoleAdministrator,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		Created:      at(0),
	}
	for _, mod := range mods {
		mod(&a)
	}
	if err := s.CreateAdmin(t.Context(), a); err != nil {
		t.Fatalf("CreateAdmin(%s %q) = %v, want nil", a.ID, a.Email, err)
	}
	return a
}

// digitsOf returns n random decimal digits.
func digitsOf(t testing.TB, n int) string {
	t.Helper()
	d, err := mfa.RandomDigits(rand.Reader, n)
	if err != nil {
		t.Fatalf("RandomDigits(%d) = %v", n, err)
	}
	return d
}
