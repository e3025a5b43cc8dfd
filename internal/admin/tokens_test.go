package admin_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/tokenfile"
)

const tokSecretHex = "3132333435363738393031323334353637383930" // RFC 4226 test seed

var tokSecret, _ = hex.DecodeString(tokSecretHex)

// fieldOf returns the field of an Invalid error, or "" if err is not one.
func fieldOf(err error) string {
	var me *mfa.Error
	if errors.As(err, &me) && me.Kind == mfa.Invalid {
		return me.Field
	}
	return ""
}

func TestCreateTokenValidation(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	if _, err := e.svc.CreateToken(ctx, e.owner, admin.NewToken{Type: mfa.TokenH6, Serial: "DUP", Secret: tokSecretHex}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		give      admin.NewToken
		wantField string // "" = created
	}{
		{"hotp defaults", admin.NewToken{Type: mfa.TokenH6, Serial: "H6-1", Secret: tokSecretHex}, ""},
		{"hotp 8 with counter and spaced upper-case hex", admin.NewToken{Type: mfa.TokenH8, Serial: "H8-1", Secret: "3132 3334 3536 3738 3930 3132 3334 3536 3738 3930", Counter: ptr[uint64](42)}, ""},
		{"totp default step", admin.NewToken{Type: mfa.TokenT6, Serial: "T6-1", Secret: tokSecretHex}, ""},
		{"totp step 60", admin.NewToken{Type: mfa.TokenT8, Serial: "T8-1", Secret: tokSecretHex, TOTPStep: ptr(60)}, ""},
		{"yubikey", admin.NewToken{Type: mfa.TokenYK, Serial: "vvccccdfgbjk", PrivateID: "a1b2c3d4e5f6", AESKey: "00112233445566778899aabbccddeeff"}, ""},
		{"same serial, other type", admin.NewToken{Type: mfa.TokenH8, Serial: "DUP", Secret: tokSecretHex}, ""},
		{"serial of 128 characters", admin.NewToken{Type: mfa.TokenH6, Serial: strings.Repeat("s", 128), Secret: tokSecretHex}, ""},
		{"duplicate serial", admin.NewToken{Type: mfa.TokenH6, Serial: "DUP", Secret: tokSecretHex}, "serial"},
		{"missing type", admin.NewToken{Serial: "X", Secret: tokSecretHex}, "type"},
		{"unknown type", admin.NewToken{Type: "h7", Serial: "X", Secret: tokSecretHex}, "type"},
		{"d1 type", admin.NewToken{Type: "d1", Serial: "X", Secret: tokSecretHex}, "type"},
		{"missing serial", admin.NewToken{Type: mfa.TokenH6, Secret: tokSecretHex}, "serial"},
		{"blank serial", admin.NewToken{Type: mfa.TokenH6, Serial: "  ", Secret: tokSecretHex}, "serial"},
		{"serial of 129 characters", admin.NewToken{Type: mfa.TokenH6, Serial: strings.Repeat("s", 129), Secret: tokSecretHex}, "serial"},
		{"serial with control character", admin.NewToken{Type: mfa.TokenH6, Serial: "a\nb", Secret: tokSecretHex}, "serial"},
		{"missing secret", admin.NewToken{Type: mfa.TokenH6, Serial: "X"}, "secret"},
		{"base32 secret", admin.NewToken{Type: mfa.TokenH6, Serial: "X", Secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}, "secret"},
		{"odd hex secret", admin.NewToken{Type: mfa.TokenH6, Serial: "X", Secret: tokSecretHex + "1"}, "secret"},
		{"short secret", admin.NewToken{Type: mfa.TokenH6, Serial: "X", Secret: "31323334"}, "secret"},
		{"huge counter", admin.NewToken{Type: mfa.TokenH6, Serial: "X", Secret: tokSecretHex, Counter: ptr[uint64](1 << 63)}, "counter"},
		{"totp_step on hotp", admin.NewToken{Type: mfa.TokenH6, Serial: "X", Secret: tokSecretHex, TOTPStep: ptr(30)}, "totp_step"},
		{"totp step 45", admin.NewToken{Type: mfa.TokenT6, Serial: "X", Secret: tokSecretHex, TOTPStep: ptr(45)}, "totp_step"},
		{"totp step 0", admin.NewToken{Type: mfa.TokenT6, Serial: "X", Secret: tokSecretHex, TOTPStep: ptr(0)}, "totp_step"},
		{"counter on totp", admin.NewToken{Type: mfa.TokenT6, Serial: "X", Secret: tokSecretHex, Counter: ptr[uint64](1)}, "counter"},
		{"private_id on hotp", admin.NewToken{Type: mfa.TokenH6, Serial: "X", Secret: tokSecretHex, PrivateID: "a1b2c3d4e5f6"}, "private_id"},
		{"secret on yubikey", admin.NewToken{Type: mfa.TokenYK, Serial: "X", Secret: tokSecretHex, PrivateID: "a1b2c3d4e5f6", AESKey: "00112233445566778899aabbccddeeff"}, "secret"},
		{"missing private_id", admin.NewToken{Type: mfa.TokenYK, Serial: "X", AESKey: "00112233445566778899aabbccddeeff"}, "private_id"},
		{"short private_id", admin.NewToken{Type: mfa.TokenYK, Serial: "X", PrivateID: "a1b2c3d4e5", AESKey: "00112233445566778899aabbccddeeff"}, "private_id"},
		{"modhex private_id", admin.NewToken{Type: mfa.TokenYK, Serial: "X", PrivateID: "vvccccdfgbjk", AESKey: "00112233445566778899aabbccddeeff"}, "private_id"},
		{"missing aes_key", admin.NewToken{Type: mfa.TokenYK, Serial: "X", PrivateID: "a1b2c3d4e5f6"}, "aes_key"},
		{"long aes_key", admin.NewToken{Type: mfa.TokenYK, Serial: "X", PrivateID: "a1b2c3d4e5f6", AESKey: "00112233445566778899aabbccddeeff00"}, "aes_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, before, _ := e.store.ListTokens(ctx, mfa.TokenFilter{})
			got, err := e.svc.CreateToken(ctx, e.owner, tt.give)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("CreateToken(%s) = %v, want success", tt.name, err)
				}
				stored, err := e.store.GetToken(ctx, got.ID)
				if err != nil {
					t.Fatal(err)
				}
				if stored.Type != tt.give.Type || stored.Serial != strings.TrimSpace(tt.give.Serial) {
					t.Errorf("stored token = %s %q, want %s %q", stored.Type, stored.Serial, tt.give.Type, tt.give.Serial)
				}
				if len(got.Secret)+len(got.PrivateID)+len(got.AESKey) != 0 {
					t.Error("CreateToken() returned key material")
				}
				return
			}
			if f := fieldOf(err); f != tt.wantField {
				t.Errorf("CreateToken(%s) = %v (field %q), want Invalid naming %q", tt.name, err, f, tt.wantField)
			}
			if _, after, _ := e.store.ListTokens(ctx, mfa.TokenFilter{}); after != before {
				t.Errorf("CreateToken(%s) failed but the token count went from %d to %d", tt.name, before, after)
			}
		})
	}
	// The defaults and stored key material.
	tokens, _, _ := e.svc.ListTokens(ctx, e.owner, mfa.TokenFilter{Type: mfa.TokenH8, Serial: "H8-1"})
	if len(tokens) != 1 {
		t.Fatalf("ListTokens(h8, H8-1) = %d tokens, want 1", len(tokens))
	}
	h8, _ := e.store.GetToken(ctx, tokens[0].Token.ID)
	if h8.Counter != 42 || !bytes.Equal(h8.Secret.Reveal(), tokSecret) {
		t.Errorf("stored h8 counter %d, secret ok %v; want 42, true", h8.Counter, bytes.Equal(h8.Secret.Reveal(), tokSecret))
	}
	t6, _, _ := e.svc.ListTokens(ctx, e.owner, mfa.TokenFilter{Type: mfa.TokenT6, Serial: "T6-1"})
	if len(t6) != 1 || t6[0].Token.TOTPStep != 30 {
		t.Errorf("t6 token = %+v, want step 30", t6)
	}
	if _, _, err := e.svc.ListTokens(ctx, e.owner, mfa.TokenFilter{Type: "zz"}); fieldOf(err) != "type" {
		t.Errorf("ListTokens(type zz) = %v, want Invalid naming type", err)
	}
}

// TestTokenSecretsNeverLeave: no read path returns key material, and the
// admin log and slog output never hold it.
func TestTokenSecretsNeverLeave(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u := e.user("alice")
	h, err := e.svc.CreateToken(ctx, e.owner, admin.NewToken{Type: mfa.TokenH6, Serial: "S1", Secret: tokSecretHex})
	if err != nil {
		t.Fatal(err)
	}
	yk, err := e.svc.CreateToken(ctx, e.owner, admin.NewToken{Type: mfa.TokenYK, Serial: "vvcccc", PrivateID: "a1b2c3d4e5f6", AESKey: "00112233445566778899aabbccddeeff"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AttachToken(ctx, e.owner, u.ID, h.ID); err != nil {
		t.Fatal(err)
	}
	var infos []admin.TokenInfo
	for _, id := range []string{h.ID, yk.ID} {
		ti, err := e.svc.GetToken(ctx, e.owner, id)
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, ti)
	}
	list, _, _ := e.svc.ListTokens(ctx, e.owner, mfa.TokenFilter{})
	infos = append(infos, list...)
	ut, _ := e.svc.UserTokens(ctx, e.owner, u.ID)
	infos = append(infos, ut...)
	for _, ti := range infos {
		if len(ti.Token.Secret)+len(ti.Token.PrivateID)+len(ti.Token.AESKey) != 0 {
			t.Errorf("token %s returned with key material", ti.Token.ID)
		}
	}
	for _, ti := range list {
		if got := ti.Users; ti.Token.ID == h.ID && (len(got) != 1 || got[0].ID != u.ID) {
			t.Errorf("ListTokens() users of %s = %v, want [%s]", h.ID, got, u.ID)
		}
	}
	out := strings.ToLower(e.adminLog() + e.logs.String())
	for _, secret := range []string{tokSecretHex, "a1b2c3d4e5f6", "00112233445566778899aabbccddeeff", "12345678901234567890"} {
		if strings.Contains(out, secret) {
			t.Errorf("admin log or slog output contains key material %q", secret)
		}
	}
}

func TestResyncToken(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	mk := func(nt admin.NewToken) mfa.Token {
		t.Helper()
		tok, err := e.svc.CreateToken(ctx, e.owner, nt)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	h6 := mk(admin.NewToken{Type: mfa.TokenH6, Serial: "H6", Secret: tokSecretHex, Counter: ptr[uint64](10)})
	h8 := mk(admin.NewToken{Type: mfa.TokenH8, Serial: "H8", Secret: tokSecretHex})
	t6 := mk(admin.NewToken{Type: mfa.TokenT6, Serial: "T6", Secret: tokSecretHex})
	yk := mk(admin.NewToken{Type: mfa.TokenYK, Serial: "vvcccc", PrivateID: "a1b2c3d4e5f6", AESKey: "00112233445566778899aabbccddeeff"})
	codes := func(digits int, c uint64) [3]string {
		return [3]string{otp.HOTP(tokSecret, c, digits), otp.HOTP(tokSecret, c+1, digits), otp.HOTP(tokSecret, c+2, digits)}
	}
	counter := func(id string) uint64 {
		tok, err := e.store.GetToken(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Counter
	}
	tests := []struct {
		name        string
		id          string
		give        [3]string
		wantField   string // "" = success
		wantNotFoud bool
		wantCounter uint64
	}{
		{name: "codes 900 counters ahead", id: h6.ID, give: codes(6, 910), wantCounter: 913},
		{name: "codes behind the counter", id: h6.ID, give: codes(6, 500), wantField: "code1", wantCounter: 913},
		{name: "codes beyond the scan", id: h6.ID, give: codes(6, 913+admin.TokenResyncScan+5), wantField: "code1", wantCounter: 913},
		{name: "codes not consecutive", id: h6.ID, give: [3]string{otp.HOTP(tokSecret, 1000, 6), otp.HOTP(tokSecret, 1002, 6), otp.HOTP(tokSecret, 1003, 6)}, wantField: "code1", wantCounter: 913},
		{name: "codes out of order", id: h6.ID, give: [3]string{otp.HOTP(tokSecret, 1001, 6), otp.HOTP(tokSecret, 1000, 6), otp.HOTP(tokSecret, 1002, 6)}, wantField: "code1", wantCounter: 913},
		{name: "8-digit token far ahead", id: h8.ID, give: codes(8, 9000), wantCounter: 9003},
		{name: "6-digit codes for an 8-digit token", id: h8.ID, give: codes(6, 9100), wantField: "code1", wantCounter: 9003},
		{name: "missing code2", id: h6.ID, give: [3]string{"123456", "", "123456"}, wantField: "code2", wantCounter: 913},
		{name: "letters in code3", id: h6.ID, give: [3]string{"123456", "123456", "12345a"}, wantField: "code3", wantCounter: 913},
		{name: "totp token", id: t6.ID, give: codes(6, 0), wantField: "token_id"},
		{name: "yubikey token", id: yk.ID, give: codes(6, 0), wantField: "token_id"},
		{name: "unknown token", id: "DHNOSUCHTOKEN000000", give: codes(6, 0), wantNotFoud: true},
	}
	for _, tt := range tests {
		err := e.svc.ResyncToken(ctx, e.owner, tt.id, tt.give)
		switch {
		case tt.wantNotFoud:
			if !errors.Is(err, mfa.ErrNotFound) {
				t.Errorf("ResyncToken(%s) = %v, want NotFound", tt.name, err)
			}
			continue
		case tt.wantField == "" && err != nil:
			t.Errorf("ResyncToken(%s) = %v, want success", tt.name, err)
		case tt.wantField != "" && fieldOf(err) != tt.wantField:
			t.Errorf("ResyncToken(%s) = %v, want Invalid naming %s", tt.name, err, tt.wantField)
		}
		if tt.wantCounter != 0 {
			if got := counter(tt.id); got != tt.wantCounter {
				t.Errorf("after ResyncToken(%s) counter = %d, want %d", tt.name, got, tt.wantCounter)
			}
		}
	}
	if err := e.svc.ResyncToken(ctx, e.owner, t6.ID, codes(6, 0)); err == nil || !strings.Contains(err.Error(), "only for HOTP tokens") {
		t.Errorf("ResyncToken(totp) = %v, want a message saying resync is only for HOTP tokens", err)
	}
	if err := e.svc.ResyncToken(ctx, e.owner, h6.ID, codes(6, 100)); err == nil ||
		!strings.Contains(err.Error(), "codes do not match three consecutive codes of this token") {
		t.Errorf("ResyncToken(wrong codes) = %v, want the clear mismatch message", err)
	}
}

func TestUpdateToken(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	t6, _ := e.svc.CreateToken(ctx, e.owner, admin.NewToken{Type: mfa.TokenT6, Serial: "T6", Secret: tokSecretHex})
	h6, _ := e.svc.CreateToken(ctx, e.owner, admin.NewToken{Type: mfa.TokenH6, Serial: "H6", Secret: tokSecretHex})
	// Pretend step 1001 (30 s) was used: in 60 s steps that is step 500.
	stored, _ := e.store.GetToken(ctx, t6.ID)
	stored.LastStep = 1001
	if err := e.store.UpdateToken(ctx, stored); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.UpdateToken(ctx, e.owner, t6.ID, admin.TokenUpdate{TOTPStep: ptr(60)})
	if err != nil || got.Token.TOTPStep != 60 {
		t.Fatalf("UpdateToken(step 60) = %+v, %v; want step 60", got.Token, err)
	}
	stored, _ = e.store.GetToken(ctx, t6.ID)
	if stored.TOTPStep != 60 || stored.LastStep != 500 {
		t.Errorf("stored step %d last %d, want 60 and 500", stored.TOTPStep, stored.LastStep)
	}
	tests := []struct {
		id        string
		give      admin.TokenUpdate
		wantField string
	}{
		{t6.ID, admin.TokenUpdate{TOTPStep: ptr(45)}, "totp_step"},
		{t6.ID, admin.TokenUpdate{TOTPStep: ptr(-30)}, "totp_step"},
		{h6.ID, admin.TokenUpdate{TOTPStep: ptr(30)}, "totp_step"},
	}
	for _, tt := range tests {
		if _, err := e.svc.UpdateToken(ctx, e.owner, tt.id, tt.give); fieldOf(err) != tt.wantField {
			t.Errorf("UpdateToken(%s, %d) = %v, want Invalid naming %s", tt.id, *tt.give.TOTPStep, err, tt.wantField)
		}
	}
	if after, _ := e.store.GetToken(ctx, t6.ID); after.TOTPStep != 60 || after.LastStep != 500 {
		t.Errorf("after refused updates step %d last %d, want unchanged 60, 500", after.TOTPStep, after.LastStep)
	}
	if _, err := e.svc.UpdateToken(ctx, e.owner, "DHNOSUCH", admin.TokenUpdate{TOTPStep: ptr(30)}); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("UpdateToken(unknown) = %v, want NotFound", err)
	}
}

func TestTokenAssociations(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u := e.user("alice")
	tok, _ := e.svc.CreateToken(ctx, e.owner, admin.NewToken{Type: mfa.TokenH6, Serial: "S", Secret: tokSecretHex})
	if err := e.svc.AttachToken(ctx, e.owner, u.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AttachToken(ctx, e.owner, u.ID, tok.ID); err != nil {
		t.Errorf("AttachToken twice = %v, want nil", err)
	}
	ut, err := e.svc.UserTokens(ctx, e.owner, u.ID)
	if err != nil || len(ut) != 1 || ut[0].Token.ID != tok.ID || len(ut[0].Users) != 1 {
		t.Errorf("UserTokens() = %+v, %v; want the token with its user", ut, err)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"attach to unknown user", e.svc.AttachToken(ctx, e.owner, "DUNOSUCH", tok.ID), mfa.ErrNotFound},
		{"attach unknown token", e.svc.AttachToken(ctx, e.owner, u.ID, "DHNOSUCH"), mfa.ErrNotFound},
		{"attach without token id", e.svc.AttachToken(ctx, e.owner, u.ID, " "), mfa.ErrInvalid},
		{"detach from unknown user", e.svc.DetachToken(ctx, e.owner, "DUNOSUCH", tok.ID), mfa.ErrNotFound},
		{"list tokens of unknown user", func() error { _, err := e.svc.UserTokens(ctx, e.owner, "DUNOSUCH"); return err }(), mfa.ErrNotFound},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if err := e.svc.DetachToken(ctx, e.owner, u.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DetachToken(ctx, e.owner, u.ID, tok.ID); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("DetachToken twice = %v, want NotFound", err)
	}
	if err := e.svc.DeleteToken(ctx, e.owner, tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteToken(ctx, e.owner, tok.ID); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("DeleteToken twice = %v, want NotFound", err)
	}
}

func TestImportTokens(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	pskc, err := os.ReadFile("../tokenfile/testdata/rfc6030-figure10.pskcxml")
	if err != nil {
		t.Fatal(err)
	}
	recs, bad, err := tokenfile.Parse(tokenfile.PSKC, bytes.NewReader(pskc), tokenfile.Options{})
	if err != nil || len(bad) != 0 || len(recs) != 4 {
		t.Fatalf("Parse(figure 10) = %d records, %v, %v", len(recs), bad, err)
	}
	csv := "ok-h," + tokSecretHex + ",7\n654321," + tokSecretHex + "\n"
	more, _, err := tokenfile.Parse(tokenfile.HOTPCSV, strings.NewReader(csv), tokenfile.Options{Digits: 8})
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, more...)
	// A record the parser would not produce, to prove the service validates again.
	recs = append(recs, tokenfile.Record{Type: "t6", Serial: "bad-step", Secret: tokSecret, TOTPStep: 45, Line: 99},
		tokenfile.Record{Type: "yk", Serial: "vvcccc", PrivateID: []byte{1, 2, 3, 4, 5, 6}, AESKey: make([]byte, 16), Line: 100})
	var calls [][2]int
	rep, err := e.svc.ImportTokens(ctx, e.owner, recs, func(done, total int) { calls = append(calls, [2]int{done, total}) })
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	for _, tok := range rep.Created {
		created = append(created, string(tok.Type)+":"+tok.Serial)
		if len(tok.Secret)+len(tok.AESKey)+len(tok.PrivateID) != 0 {
			t.Errorf("ImportTokens() returned key material for %s", tok.Serial)
		}
	}
	if got, want := strings.Join(created, " "), "h8:654321 h8:123456 h8:9999999 h8:ok-h yk:vvcccc"; got != want {
		t.Errorf("ImportTokens() created %s, want %s", got, want)
	}
	var rejected []string
	for _, r := range rep.Rejected {
		rejected = append(rejected, r.Error())
	}
	want := []string{
		`line 86 (9999999): serial: a h8 token with serial "9999999" already exists`,
		`line 2 (654321): serial: a h8 token with serial "654321" already exists`,
		`line 99 (bad-step): totp_step: must be 30 or 60`,
	}
	if strings.Join(rejected, "\n") != strings.Join(want, "\n") {
		t.Errorf("ImportTokens() rejected:\n%s\nwant:\n%s", strings.Join(rejected, "\n"), strings.Join(want, "\n"))
	}
	if len(calls) != len(recs) || calls[len(calls)-1] != [2]int{len(recs), len(recs)} {
		t.Errorf("progress calls = %v, want %d ending at done == total", calls, len(recs))
	}
	okh, _, _ := e.store.ListTokens(ctx, mfa.TokenFilter{Type: mfa.TokenH8, Serial: "ok-h"})
	if len(okh) != 1 || okh[0].Counter != 7 {
		t.Errorf("imported ok-h = %+v, want counter 7", okh)
	}
	if _, err := e.svc.ImportTokens(ctx, e.actor(mfa.RoleReadOnly), recs, nil); !errors.Is(err, mfa.ErrDenied) {
		t.Errorf("ImportTokens(Read-only) = %v, want Denied", err)
	}
	if strings.Contains(strings.ToLower(e.adminLog()+e.logs.String()), tokSecretHex) {
		t.Error("the import logged a secret")
	}
}
