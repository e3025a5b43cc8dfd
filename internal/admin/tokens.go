package admin

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
)

// Hardware token rules (DUO-WIRE.md 3.4).
const (
	MaxTokenSerial    = 128   // characters
	DefaultTOTPStep   = 30    // seconds
	TokenResyncScan   = 10000 // counters scanned ahead of the stored one (Duo: "at least 1000")
	yubiKeyPrivateLen = 6     // bytes
	yubiKeyAESKeyLen  = 16    // bytes
)

// NewToken is a hardware token to create, as the Admin API and the token
// importer deliver it: key material hex-encoded, optional values nil.
type NewToken struct {
	Type      mfa.TokenType
	Serial    string
	Secret    string  // hex; HOTP and TOTP
	Counter   *uint64 // HOTP; default 0
	TOTPStep  *int    // TOTP; default 30
	PrivateID string  // hex, 6 bytes; YubiKey
	AESKey    string  // hex, 16 bytes; YubiKey
}

// TokenInfo is a token with its users. Its key material is removed: what
// the service returns never carries a secret.
type TokenInfo struct {
	Token mfa.Token
	Users []mfa.User
}

// withoutSecrets drops a token's key material before it leaves the service.
func withoutSecrets(t mfa.Token) mfa.Token {
	t.Secret, t.PrivateID, t.AESKey = nil, nil, nil
	return t
}

func isTOTP(t mfa.TokenType) bool { return t == mfa.TokenT6 || t == mfa.TokenT8 }
func isHOTP(t mfa.TokenType) bool { return t == mfa.TokenH6 || t == mfa.TokenH8 }

// validTOTPStep reports whether step is one the API accepts.
func validTOTPStep(step int) bool { return step == 30 || step == 60 }

// buildToken validates nt and returns the token to store (without ID and
// Created). Every problem names the Admin API parameter.
func buildToken(nt NewToken) (mfa.Token, error) {
	typ := mfa.TokenType(strings.TrimSpace(string(nt.Type)))
	switch {
	case typ == "":
		return mfa.Token{}, mfa.InvalidField("type", "required")
	case typ == "d1":
		return mfa.Token{}, mfa.InvalidField("type", "d1 (Duo-D100) tokens cannot be created through the API")
	case !typ.Valid():
		return mfa.Token{}, mfa.InvalidField("type", "must be one of h6, h8, t6, t8, yk")
	}
	serial := strings.TrimSpace(nt.Serial)
	if serial == "" {
		return mfa.Token{}, mfa.InvalidField("serial", "required")
	}
	if !utf8.ValidString(serial) || strings.IndexFunc(serial, unicode.IsControl) >= 0 {
		return mfa.Token{}, mfa.InvalidField("serial", "contains invalid characters")
	}
	if n := utf8.RuneCountInString(serial); n > MaxTokenSerial {
		return mfa.Token{}, mfa.InvalidField("serial", fmt.Sprintf("at most %d characters, got %d", MaxTokenSerial, n))
	}
	t := mfa.Token{Type: typ, Serial: serial}
	notFor := func(field string) error {
		return mfa.InvalidField(field, fmt.Sprintf("does not apply to %s tokens", typ))
	}
	if typ == mfa.TokenYK {
		if nt.Secret != "" {
			return mfa.Token{}, notFor("secret")
		}
		if nt.Counter != nil {
			return mfa.Token{}, notFor("counter")
		}
		if nt.TOTPStep != nil {
			return mfa.Token{}, notFor("totp_step")
		}
		var err error
		if t.PrivateID, err = fixedHex("private_id", nt.PrivateID, yubiKeyPrivateLen); err != nil {
			return mfa.Token{}, err
		}
		if t.AESKey, err = fixedHex("aes_key", nt.AESKey, yubiKeyAESKeyLen); err != nil {
			return mfa.Token{}, err
		}
		return t, nil
	}
	if nt.PrivateID != "" {
		return mfa.Token{}, notFor("private_id")
	}
	if nt.AESKey != "" {
		return mfa.Token{}, notFor("aes_key")
	}
	if strings.TrimSpace(nt.Secret) == "" {
		return mfa.Token{}, mfa.InvalidField("secret", "required")
	}
	secret, err := otp.ParseHexSecret(nt.Secret)
	if err != nil {
		return mfa.Token{}, mfa.InvalidField("secret", secretProblem(err))
	}
	t.Secret = secret
	if isHOTP(typ) {
		if nt.TOTPStep != nil {
			return mfa.Token{}, notFor("totp_step")
		}
		if nt.Counter != nil {
			// The store keeps counters as signed 64-bit integers and an
			// authentication stores counter+1.
			if *nt.Counter >= math.MaxInt64/2 {
				return mfa.Token{}, mfa.InvalidField("counter", "too large")
			}
			t.Counter = *nt.Counter
		}
		return t, nil
	}
	if nt.Counter != nil {
		return mfa.Token{}, notFor("counter")
	}
	t.TOTPStep = DefaultTOTPStep
	if nt.TOTPStep != nil {
		if !validTOTPStep(*nt.TOTPStep) {
			return mfa.Token{}, mfa.InvalidField("totp_step", "must be 30 or 60")
		}
		t.TOTPStep = *nt.TOTPStep
	}
	return t, nil
}

// secretProblem turns an otp secret error into a message without the
// package prefix (it never contains the value).
func secretProblem(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, otp.ErrSecret.Error()+": ")
	return "must be the seed in hex (" + msg + ")"
}

// fixedHex decodes a required hex value of exactly n bytes.
func fixedHex(field, s string, n int) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, mfa.InvalidField(field, "required")
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != n {
		return nil, mfa.InvalidField(field, fmt.Sprintf("must be %d hex characters (%d bytes)", 2*n, n))
	}
	return b, nil
}

// CreateToken creates a hardware token. A serial already used by a token of
// the same type is Invalid naming serial.
func (s *Service) CreateToken(ctx context.Context, a Actor, nt NewToken) (mfa.Token, error) {
	if err := s.authorize(ctx, a, WriteDevices); err != nil {
		return mfa.Token{}, err
	}
	return s.createToken(ctx, a, nt, "token_create")
}

func (s *Service) createToken(ctx context.Context, a Actor, nt NewToken, action string) (mfa.Token, error) {
	t, err := buildToken(nt)
	if err != nil {
		return mfa.Token{}, err
	}
	if t.ID, err = mfa.NewID(mfa.PrefixToken, s.rand); err != nil {
		return mfa.Token{}, fmt.Errorf("create token: %w", err)
	}
	t.Created = s.now()
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.CreateToken(ctx, t); err != nil {
			if errors.Is(err, mfa.ErrConflict) {
				return mfa.InvalidField("serial",
					fmt.Sprintf("a %s token with serial %q already exists", t.Type, t.Serial))
			}
			return fmt.Errorf("create token: %w", err)
		}
		return s.logChange(ctx, a, action, "token", t.ID, changeDetails(map[string]any{"type": t.Type, "serial": t.Serial}))
	})
	if err != nil {
		return mfa.Token{}, err
	}
	return withoutSecrets(t), nil
}

// changeDetails renders an admin log description. Callers never pass secrets.
func changeDetails(v map[string]any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// GetToken returns a token and its users.
func (s *Service) GetToken(ctx context.Context, a Actor, id string) (TokenInfo, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return TokenInfo{}, err
	}
	t, err := s.store.GetToken(ctx, id)
	if err != nil {
		return TokenInfo{}, fmt.Errorf("get token: %w", err)
	}
	return s.tokenInfo(ctx, t)
}

func (s *Service) tokenInfo(ctx context.Context, t mfa.Token) (TokenInfo, error) {
	users, err := s.store.TokenUsers(ctx, t.ID)
	if err != nil {
		return TokenInfo{}, fmt.Errorf("token users: %w", err)
	}
	if users == nil {
		users = []mfa.User{}
	}
	return TokenInfo{Token: withoutSecrets(t), Users: users}, nil
}

// ListTokens lists tokens matching f with their users, and the total.
func (s *Service) ListTokens(ctx context.Context, a Actor, f mfa.TokenFilter) ([]TokenInfo, int, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return nil, 0, err
	}
	if f.Type != "" && !f.Type.Valid() {
		return nil, 0, mfa.InvalidField("type", "must be one of h6, h8, t6, t8, yk")
	}
	tokens, total, err := s.store.ListTokens(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]TokenInfo, 0, len(tokens))
	for _, t := range tokens {
		ti, err := s.tokenInfo(ctx, t)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ti)
	}
	return out, total, nil
}

// TokenUpdate is what POST /admin/v1/tokens/{id} may change.
type TokenUpdate struct {
	TOTPStep *int
}

// UpdateToken changes a TOTP token's time step. The last accepted step is
// converted to the new step length, so that a code already used cannot be
// used again and the next one is still accepted.
func (s *Service) UpdateToken(ctx context.Context, a Actor, id string, u TokenUpdate) (TokenInfo, error) {
	if err := s.authorize(ctx, a, WriteDevices); err != nil {
		return TokenInfo{}, err
	}
	t, err := s.store.GetToken(ctx, id)
	if err != nil {
		return TokenInfo{}, fmt.Errorf("update token: %w", err)
	}
	if u.TOTPStep != nil {
		if !isTOTP(t.Type) {
			return TokenInfo{}, mfa.InvalidField("totp_step", fmt.Sprintf("only TOTP tokens (t6, t8) have a time step; this token is %s", t.Type))
		}
		if !validTOTPStep(*u.TOTPStep) {
			return TokenInfo{}, mfa.InvalidField("totp_step", "must be 30 or 60")
		}
		if *u.TOTPStep != t.TOTPStep {
			if t.TOTPStep > 0 {
				t.LastStep = t.LastStep * int64(t.TOTPStep) / int64(*u.TOTPStep)
			}
			old := t.TOTPStep
			t.TOTPStep = *u.TOTPStep
			err := s.store.Atomic(ctx, func(ctx context.Context) error {
				if err := s.store.UpdateToken(ctx, t); err != nil {
					return fmt.Errorf("update token: %w", err)
				}
				return s.logChange(ctx, a, "token_update", "token", t.ID,
					changeDetails(map[string]any{"totp_step": map[string]int{"from": old, "to": t.TOTPStep}}))
			})
			if err != nil {
				return TokenInfo{}, err
			}
		}
	}
	return s.tokenInfo(ctx, t)
}

// DeleteToken deletes a token and its user associations.
func (s *Service) DeleteToken(ctx context.Context, a Actor, id string) error {
	if err := s.authorize(ctx, a, DeleteDevices); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		t, err := s.store.GetToken(ctx, id)
		if err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
		if err := s.store.DeleteToken(ctx, id); err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
		return s.logChange(ctx, a, "token_delete", "token", id, changeDetails(map[string]any{"type": t.Type, "serial": t.Serial}))
	})
}

// ResyncToken finds three consecutive codes of an HOTP token, scanning
// TokenResyncScan counters ahead of the stored one, and stores the counter
// after the third as the next acceptable one.
func (s *Service) ResyncToken(ctx context.Context, a Actor, id string, codes [3]string) error {
	if err := s.authorize(ctx, a, WriteDevices); err != nil {
		return err
	}
	t, err := s.store.GetToken(ctx, id)
	if err != nil {
		return fmt.Errorf("resync token: %w", err)
	}
	if !isHOTP(t.Type) {
		return mfa.InvalidField("token_id", fmt.Sprintf(
			"resync is only for HOTP tokens (h6, h8); this token is %s, whose codes follow its clock or its own counter", t.Type))
	}
	digits := t.Type.Digits()
	for i, c := range codes {
		name := fmt.Sprintf("code%d", i+1)
		c = strings.TrimSpace(c)
		if c == "" {
			return mfa.InvalidField(name, "required")
		}
		if len(c) != digits || strings.Trim(c, "0123456789") != "" {
			return mfa.InvalidField(name, fmt.Sprintf("must be %d digits", digits))
		}
		codes[i] = c
	}
	next, ok := otp.ResyncHOTP(t.Secret.Reveal(), codes, t.Counter, TokenResyncScan, digits)
	if !ok {
		return mfa.InvalidField("code1", fmt.Sprintf(
			"codes do not match three consecutive codes of this token within %d counters of its current position", TokenResyncScan))
	}
	old := t.Counter
	t.Counter = next
	// The scan above stays outside the transaction; UpdateToken only moves
	// the counter forward, so a login meanwhile cannot be undone.
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.UpdateToken(ctx, t); err != nil {
			return fmt.Errorf("resync token: %w", err)
		}
		return s.logChange(ctx, a, "token_resync", "token", id, changeDetails(map[string]any{"skipped": next - old - 3}))
	})
}

// UserTokens lists a user's tokens. NotFound if the user does not exist.
func (s *Service) UserTokens(ctx context.Context, a Actor, userID string) ([]TokenInfo, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return nil, err
	}
	if _, err := s.store.GetUser(ctx, userID); err != nil {
		return nil, fmt.Errorf("user tokens: %w", err)
	}
	tokens, err := s.store.UserTokens(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("user tokens: %w", err)
	}
	out := make([]TokenInfo, 0, len(tokens))
	for _, t := range tokens {
		ti, err := s.tokenInfo(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, ti)
	}
	return out, nil
}

// AttachToken associates a token with a user; attaching twice is not an
// error. NotFound if either does not exist.
func (s *Service) AttachToken(ctx context.Context, a Actor, userID, tokenID string) error {
	if err := s.authorize(ctx, a, WriteDevices); err != nil {
		return err
	}
	if strings.TrimSpace(tokenID) == "" {
		return mfa.InvalidField("token_id", "required")
	}
	err := s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.AttachToken(ctx, userID, tokenID); err != nil {
			return fmt.Errorf("attach token: %w", err)
		}
		return s.logChange(ctx, a, "token_attach", "user", userID, changeDetails(map[string]any{"token_id": tokenID}))
	})
	if err != nil {
		return err
	}
	what := "A hardware token was added to your account"
	if t, err := s.store.GetToken(ctx, tokenID); err == nil && t.Serial != "" {
		what = "The hardware token with serial " + t.Serial + " was added to your account"
	}
	s.notifyUser(ctx, userID, SubjectTokenAdded, what+" by an administrator. It can now be used for the second step of your logins.")
	return nil
}

// DetachToken removes a token from a user. NotFound if it was not attached.
func (s *Service) DetachToken(ctx context.Context, a Actor, userID, tokenID string) error {
	if err := s.authorize(ctx, a, WriteDevices); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.DetachToken(ctx, userID, tokenID); err != nil {
			return fmt.Errorf("detach token: %w", err)
		}
		return s.logChange(ctx, a, "token_detach", "user", userID, changeDetails(map[string]any{"token_id": tokenID}))
	})
}
