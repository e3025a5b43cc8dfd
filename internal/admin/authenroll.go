package admin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Enrollment through the Auth API (POST /auth/v2/enroll and
// /auth/v2/enroll_status, DUO-WIRE.md 2): an application creates a user
// and an activation for a phone that redeeming the code creates, shows the
// user the QR code, and polls until the app has redeemed it. The calling
// Auth API integration is the actor in the administrator log; Auth API
// integrations need no administrative permission for this, as in Duo.

// Enrollment statuses (enroll_status's bare-string answer).
const (
	EnrollSuccess = "success" // redeemed
	EnrollWaiting = "waiting" // valid, not yet redeemed
	EnrollInvalid = "invalid" // unknown, expired, or another user's
)

const (
	// randomUsernameLength and randomUsernameAlphabet make the username
	// of an enrollment that names none.
	randomUsernameLength   = 8
	randomUsernameAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	randomUsernameTries    = 10

	// duoScheme prefixes the activation code Duo's enroll answers (and
	// its QR code holds); ParseActivationCode takes codes with or without.
	duoScheme = "duo://"
)

// EnrollByIntegration creates an active user named username (a random
// unused name of 8 lowercase letters and digits when empty) and an
// activation, valid for secs seconds (nil: 86400; 1 second to 30 days), that
// installs the app on a new phone of the user's. An existing username or
// alias is Conflict on "username". The link's Code is in Duo's enroll
// form, "duo://<CODE>-<host64>", and Barcode is the QR code of that; URL
// is the activation page. Unavailable without a public host.
func (s *Service) EnrollByIntegration(ctx context.Context, in mfa.Integration, username string, secs *int) (mfa.User, ActivationLink, error) {
	e, err := s.AuthEnroll(ctx, in, AuthEnrollRequest{Username: username, ValidSecs: secs})
	return e.User, e.Link, err
}

// AuthEnrollRequest is one POST /auth/v2/enroll.
type AuthEnrollRequest struct {
	Username  string // "" for a random unused name
	ValidSecs *int   // nil: DefaultActivationValidSecs
	// BypassCodes (duo_client_python's bypass_codes) asks for that many
	// single-use bypass codes for the new user (1 to MaxEnrollBypassCodes),
	// valid as long as the activation: the user can log in before the app
	// is activated. nil: none.
	BypassCodes *int
}

// Enrollment is what AuthEnroll made.
type Enrollment struct {
	User        mfa.User
	Link        ActivationLink
	BypassCodes []string // shown once; nil unless asked for
}

// MaxEnrollBypassCodes bounds AuthEnrollRequest.BypassCodes (Duo's limit per
// bypass-code request).
const MaxEnrollBypassCodes = mfa.MaxBypassCodesPerReq

// AuthEnroll is EnrollByIntegration with every parameter of POST
// /auth/v2/enroll. Bypass codes are made only for the user this call
// creates, in the same transaction as the user and the activation, and
// obey the bypass rules (the active-code limit, no extension, logged); an
// Auth API integration can never make codes for an existing user.
func (s *Service) AuthEnroll(ctx context.Context, in mfa.Integration, req AuthEnrollRequest) (Enrollment, error) {
	a := IntegrationActor(in)
	username, secs := req.Username, req.ValidSecs
	valid, err := validSecs(secs, DefaultActivationValidSecs)
	if err != nil {
		return Enrollment{}, err
	}
	var plan *bypassPlan
	if req.BypassCodes != nil {
		n := *req.BypassCodes
		if n < 1 || n > MaxEnrollBypassCodes {
			return Enrollment{}, mfa.InvalidField("bypass_codes", fmt.Sprintf("must be between 1 and %d", MaxEnrollBypassCodes))
		}
		plan = &bypassPlan{count: n, uses: 1, validFor: time.Duration(valid) * time.Second, field: "bypass_codes"}
	}
	if err := s.needHost(); err != nil {
		return Enrollment{}, err
	}
	// The user, the activation and both log records: one transaction.
	var (
		u     mfa.User
		link  ActivationLink
		codes []string
	)
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		var err error
		if strings.TrimSpace(username) == "" {
			u, err = s.createRandomUser(ctx)
		} else {
			u, err = s.createNamedUser(ctx, username)
		}
		if err != nil {
			return err
		}
		if err := s.logChange(ctx, a, "user_create", "user", u.ID, describe(userLog(u))); err != nil {
			return err
		}
		var act mfa.Activation
		link, act, err = s.newActivation(ctx, u.ID, "", valid, false)
		if err != nil {
			return err
		}
		desc := activationLog(act, valid)
		desc["username"] = u.Username
		if err := s.logChange(ctx, a, "auth_enroll", "user", u.ID, describe(desc)); err != nil {
			return err
		}
		if plan == nil {
			return nil
		}
		// A new user holds no codes, so a random one cannot collide.
		if codes, err = s.createBypassCodes(ctx, a, u.ID, false, *plan); err != nil {
			return err
		}
		return s.logChange(ctx, a, "bypass_create", "user", u.ID, changeDetails(map[string]any{"count": len(codes),
			"reuse_count": plan.uses, "valid_secs": int64(plan.validFor / time.Second), "preserve_existing": false,
			"caller_chosen": false, "by": "auth_enroll"}))
	})
	if err != nil {
		return Enrollment{}, err
	}
	code := duoScheme + string(link.Code)
	link.Code = mfa.Passcode(code)
	link.Barcode = "https://" + s.apiHost + "/frame/qr?value=" + url.QueryEscape(code)
	return Enrollment{User: u, Link: link, BypassCodes: codes}, nil
}

// createNamedUser creates an active user; a name taken by a username or
// alias is Conflict on "username".
func (s *Service) createNamedUser(ctx context.Context, username string) (mfa.User, error) {
	name, err := checkName("username", username)
	if err != nil {
		return mfa.User{}, err
	}
	switch _, err := s.store.GetUserByName(ctx, name); {
	case err == nil:
		return mfa.User{}, usernameTaken()
	case !errors.Is(err, mfa.ErrNotFound):
		return mfa.User{}, fmt.Errorf("enroll: %w", err)
	}
	u, err := s.createActiveUser(ctx, name)
	if errors.Is(err, mfa.ErrConflict) {
		return mfa.User{}, usernameTaken()
	}
	return u, err
}

// createRandomUser creates an active user with a random unused name.
func (s *Service) createRandomUser(ctx context.Context) (mfa.User, error) {
	for range randomUsernameTries {
		name, err := mfa.RandomString(s.rand, randomUsernameAlphabet, randomUsernameLength)
		if err != nil {
			return mfa.User{}, fmt.Errorf("enroll: %w", err)
		}
		switch _, err := s.store.GetUserByName(ctx, name); {
		case err == nil:
			continue
		case !errors.Is(err, mfa.ErrNotFound):
			return mfa.User{}, fmt.Errorf("enroll: %w", err)
		}
		u, err := s.createActiveUser(ctx, name)
		if errors.Is(err, mfa.ErrConflict) {
			continue // taken meanwhile
		}
		return u, err
	}
	return mfa.User{}, fmt.Errorf("enroll: no unused random username in %d tries", randomUsernameTries)
}

func (s *Service) createActiveUser(ctx context.Context, name string) (mfa.User, error) {
	id, err := mfa.NewID(mfa.PrefixUser, s.rand)
	if err != nil {
		return mfa.User{}, fmt.Errorf("enroll: %w", err)
	}
	u := mfa.User{ID: id, Username: name, Status: mfa.StatusActive, Created: s.now()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return mfa.User{}, fmt.Errorf("enroll: create user: %w", err)
	}
	return u, nil
}

func usernameTaken() error {
	return &mfa.Error{Kind: mfa.Conflict, Field: "username", Msg: "already exists"}
}

// EnrollStatus reports on an activation for enroll_status: EnrollSuccess
// once redeemed, EnrollWaiting while it can still be redeemed, and
// EnrollInvalid for a code that is unknown, expired, or not userID's. The
// code may carry the "duo://" prefix and the "-<host64>" suffix or not.
func (s *Service) EnrollStatus(ctx context.Context, in mfa.Integration, userID, activationCode string) (string, error) {
	code, ok := activationSecret(activationCode)
	if !ok {
		return EnrollInvalid, nil
	}
	act, err := s.store.ActivationByCode(ctx, mfa.Passcode(code))
	switch {
	case errors.Is(err, mfa.ErrNotFound):
		return EnrollInvalid, nil
	case err != nil:
		return "", fmt.Errorf("enroll status: %w", err)
	case act.UserID != userID:
		return EnrollInvalid, nil
	case !act.Redeemed.IsZero():
		return EnrollSuccess, nil
	case !s.now().Before(act.Expires):
		return EnrollInvalid, nil
	}
	return EnrollWaiting, nil
}

// activationSecret returns the random part of an activation code given
// in full ("[duo://]<CODE>-<host64>") or bare ("<CODE>").
func activationSecret(s string) (string, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), duoScheme)
	if !strings.Contains(s, "-") {
		ok := len(s) == mfa.ActivationCodeLength && strings.Trim(s, activationAlphabet) == ""
		return s, ok
	}
	code, _, err := ParseActivationCode(s)
	return code, err == nil
}
