package authflow

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/reqid"
)

// The authenticator side (docs/device-api.md): activating an install,
// listing the login requests waiting for it, and answering them.

// DeviceInfo is what an app tells about itself when it activates.
type DeviceInfo struct {
	PublicKey    string // PEM; the device API checks its form
	Platform     string
	Manufacturer string
	Model        string
	AppVersion   string
}

// Activation is what an app receives when it activates.
type Activation struct {
	Authenticator mfa.Authenticator // the new install (HOTPSecret set)
	User          mfa.User
	Customer      string // organisation name shown in the app
}

// Device activation errors.
var (
	// ErrUnknownActivation: unknown, expired or used activation code.
	ErrUnknownActivation = mfa.E(mfa.NotFound, "Unknown activation code")
)

// activationAlphabet is the alphabet of an activation code's random part.
const activationAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// hotpSecretBytes is the random length of a new install's HOTP secret; the
// secret is its hex form, whose ASCII bytes are the HMAC key (Duo Mobile's
// hotp_secret convention, DUO-WIRE 7.1).
const hotpSecretBytes = 16

// Activate redeems an activation code for a new install, in one store
// write: the code is burnt, a phone is created for codes issued without
// one (Auth API enroll, Admin API users/enroll), and every earlier install
// on the phone is revoked at once.
func (s *Service) Activate(ctx context.Context, code string, info DeviceInfo) (Activation, error) {
	code = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(code), "duo://"))
	if c, _, ok := strings.Cut(code, "-"); ok {
		code = c
	}
	if len(code) != mfa.ActivationCodeLength || strings.Trim(code, activationAlphabet) != "" {
		return Activation{}, ErrUnknownActivation
	}
	// A cheap read first: a code that cannot be redeemed never takes the
	// write transaction (on SQLite, the one writer) that redeeming is.
	// CompleteActivation checks again, atomically.
	if a, err := s.store.ActivationByCode(ctx, mfa.Passcode(code)); errors.Is(err, mfa.ErrNotFound) ||
		err == nil && (!a.Redeemed.IsZero() || !s.now().Before(a.Expires)) {
		return Activation{}, ErrUnknownActivation
	} else if err != nil {
		return Activation{}, fmt.Errorf("activate: %w", err)
	}
	id, err := mfa.NewID(mfa.PrefixPhone, s.rand)
	if err != nil {
		return Activation{}, err
	}
	authID, err := mfa.NewID(mfa.PrefixAuthenticator, s.rand)
	if err != nil {
		return Activation{}, err
	}
	var raw [hotpSecretBytes]byte
	if _, err := io.ReadFull(s.rand, raw[:]); err != nil {
		return Activation{}, fmt.Errorf("activate: %w", err)
	}
	now := s.now()
	platform := strings.TrimSpace(info.Platform)
	if platform == "" {
		platform = "generic smartphone"
	}
	model := strings.TrimSpace(strings.TrimSpace(info.Manufacturer) + " " + strings.TrimSpace(info.Model))
	newPhone := mfa.Phone{ID: id, Name: model, Type: mfa.PhoneMobile, Platform: platform, Model: model, Created: now}
	au := mfa.Authenticator{
		ID: authID, Status: mfa.AuthenticatorActive,
		PublicKey: mfa.Secret(info.PublicKey), HOTPSecret: mfa.Secret(hex.EncodeToString(raw[:])),
		Platform: platform, Model: model, AppVersion: info.AppVersion, Created: now, LastSeen: now,
	}
	_, stored, err := s.store.CompleteActivation(ctx, mfa.Passcode(code), now, newPhone, au)
	if errors.Is(err, mfa.ErrNotFound) {
		return Activation{}, ErrUnknownActivation
	}
	if err != nil {
		return Activation{}, fmt.Errorf("activate: %w", err)
	}
	u, err := s.store.GetUser(ctx, stored.UserID)
	if err != nil {
		return Activation{}, fmt.Errorf("activate: %w", err)
	}
	stored.HOTPSecret = au.HOTPSecret
	s.log.InfoContext(ctx, "authenticator activated", "user_id", u.ID, "phone_id", stored.PhoneID, "authenticator", stored.ID)
	return Activation{Authenticator: stored, User: u, Customer: s.customer}, nil
}

// Install errors of signed device requests.
var (
	// ErrInstallRevoked: the install was replaced by a newer activation or
	// removed; the app must be reactivated.
	ErrInstallRevoked = mfa.E(mfa.Unauthorized, MsgReactivate)
)

// Install returns the install a device request is signed as: NotFound
// for an unknown id; for a replaced one the install with
// ErrInstallRevoked (so the device API can check the signature before
// saying so). The device API verifies the signature with its PublicKey.
func (s *Service) Install(ctx context.Context, id string) (mfa.Authenticator, error) {
	au, err := s.store.GetAuthenticator(ctx, id)
	if err != nil {
		return mfa.Authenticator{}, err
	}
	if au.Status != mfa.AuthenticatorActive {
		return au, ErrInstallRevoked
	}
	return au, nil
}

// Touch records contact from an install (best effort), at most once per
// TouchEvery: au is the install as just read from the store, and when its
// LastSeen is more recent than that nothing is written. This needs no
// memory and holds across nodes.
func (s *Service) Touch(ctx context.Context, au mfa.Authenticator) {
	now := s.now()
	if d := now.Sub(au.LastSeen); d >= 0 && d < TouchEvery {
		return
	}
	if err := s.store.TouchAuthenticator(ctx, au.ID, now); err != nil {
		s.log.WarnContext(ctx, "touch authenticator", "authenticator", au.ID, "err", err)
	}
}

// Deregister revokes an install at its own request (the app removed the
// account): the phone is no longer activated, so it loses its push and
// mobile_otp capabilities, the install's signed requests get
// ErrInstallRevoked and its passcodes are refused with MsgReactivate.
// Pushes already waiting for the phone can no longer be answered; they
// time out. Only this install is revoked: if a newer activation replaced
// it meanwhile, the phone stays activated by that one.
func (s *Service) Deregister(ctx context.Context, au mfa.Authenticator) error {
	if err := s.store.RevokeAuthenticator(ctx, au.ID); err != nil {
		return fmt.Errorf("deregister: %w", err)
	}
	s.log.InfoContext(ctx, "authenticator deregistered by the app", "user_id", au.UserID, "phone_id", au.PhoneID, "authenticator", au.ID)
	return nil
}

// PendingRequest is a login request as an app shows it.
type PendingRequest struct {
	Transaction mfa.Transaction
	Application string // the integration's name
	Username    string // display_username, or the user's name
}

// MaxDeviceWait bounds a device's long poll.
const MaxDeviceWait = 30 * time.Second

// PendingRequests lists the pushes waiting for the install's phone that
// belong to its user, oldest first. With wait > 0 (at most MaxDeviceWait)
// it blocks until at least one is pending that is not among seen (the ids
// the app already shows), or wait passes. At most DefaultInstallPolls (see
// WithPollLimits) such waiting calls run at once per install on a node;
// one more is ErrInstallPolls.
func (s *Service) PendingRequests(ctx context.Context, au mfa.Authenticator, wait time.Duration, seen ...string) ([]PendingRequest, error) {
	wait = min(max(wait, 0), MaxDeviceWait)
	if wait > 0 {
		if !s.installPolls.enter(au.ID) {
			s.log.WarnContext(ctx, "device long poll refused: too many waiting", "authenticator", au.ID, "user_id", au.UserID)
			return nil, ErrInstallPolls
		}
		defer s.installPolls.leave(au.ID)
	}
	ch, cancel := s.store.Subscribe(mfa.TopicPhone(au.PhoneID))
	defer cancel()
	deadline := s.now().Add(wait)
	recheck := s.recheck
	if recheck <= 0 {
		recheck = DefaultRecheck
	}
	timer := time.NewTimer(recheck)
	defer timer.Stop()
	for {
		reqs, err := s.pending(ctx, au)
		if err != nil || hasUnseen(reqs, seen) {
			return reqs, err
		}
		left := deadline.Sub(s.now())
		if left <= 0 {
			return reqs, nil
		}
		timer.Reset(min(left, recheck))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		case <-timer.C:
		}
	}
}

// hasUnseen reports whether a request is not among seen.
func hasUnseen(reqs []PendingRequest, seen []string) bool {
	for _, r := range reqs {
		if !slices.Contains(seen, r.Transaction.ID) {
			return true
		}
	}
	return false
}

func (s *Service) pending(ctx context.Context, au mfa.Authenticator) ([]PendingRequest, error) {
	txs, err := s.store.PendingTransactions(ctx, au.PhoneID, s.now())
	if err != nil {
		return nil, fmt.Errorf("pending transactions: %w", err)
	}
	out := make([]PendingRequest, 0, len(txs))
	names := map[string]string{}
	for _, tx := range txs {
		if tx.UserID != au.UserID || tx.Factor != mfa.FactorPush {
			continue
		}
		r := PendingRequest{Transaction: tx, Username: tx.DisplayUsername}
		if r.Username == "" {
			if u, err := s.store.GetUser(ctx, tx.UserID); err == nil {
				r.Username = u.Username
			}
		}
		name, ok := names[tx.IKey]
		if !ok {
			if in, err := s.store.GetIntegration(ctx, tx.IKey); err == nil {
				name = in.Name
			}
			names[tx.IKey] = name
		}
		r.Application = name
		out = append(out, r)
	}
	return out, nil
}

// MaxVerificationAttempts is how many Verified Push codes may be tried on
// one transaction: the third incorrect one denies it (a failure toward
// the user's lockout), and any code after the third is refused unchecked.
// A 3-digit code could otherwise be guessed by trying all 1,000.
const MaxVerificationAttempts = 3

// ReasonCodeAttempts is the auth log reason of a push denied after
// MaxVerificationAttempts incorrect verification codes.
const ReasonCodeAttempts = "verification_code_attempts_exceeded"

// MsgCodeAttempts is the status message of such a push.
const MsgCodeAttempts = "Login request denied: too many incorrect verification codes."

// Answer is an app's answer to a login request.
type Answer struct {
	Approve bool
	Fraud   bool   // with a deny: the user did not start this login
	Code    string // Verified Push: the digits shown on the login screen
}

// Answer errors.
var (
	ErrWrongVerificationCode = mfa.InvalidField("step_up_code", "Incorrect verification code")
	// ErrCodeAttempts: the transaction was denied after
	// MaxVerificationAttempts codes were tried (or is being denied).
	ErrCodeAttempts = mfa.InvalidField("step_up_code",
		"too many incorrect verification codes: the login request was denied")
	ErrAlreadyAnswered = mfa.InvalidField("transaction", "already answered")
	ErrExpired         = mfa.InvalidField("transaction", "expired")
)

// AnswerRequest records an install's answer to a push: accepted once;
// NotFound for a transaction that is not the install's phone's and
// user's; ErrAlreadyAnswered, ErrExpired, ErrWrongVerificationCode (the
// request stays pending) or ErrCodeAttempts (MaxVerificationAttempts codes
// were tried: the request was denied). Approving for a user who was disabled or locked
// out meanwhile ends in deny. A fraud report also mutes pushes to the
// phone and emails the fraud address when configured.
func (s *Service) AnswerRequest(ctx context.Context, au mfa.Authenticator, txid string, a Answer) error {
	tx, err := s.store.GetTransaction(ctx, txid)
	if errors.Is(err, mfa.ErrNotFound) || (err == nil && (tx.PhoneID != au.PhoneID || tx.UserID != au.UserID || tx.Factor != mfa.FactorPush)) {
		return mfa.E(mfa.NotFound, "transaction not found")
	}
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	return s.answer(ctx, tx, a)
}

// answer completes the pending transaction tx with the user's answer.
func (s *Service) answer(ctx context.Context, tx mfa.Transaction, a Answer) error {
	if tx.State != mfa.TxPending {
		switch {
		case tx.Status == StatusTimeout:
			return ErrExpired
		case tx.StatusMsg == MsgCodeAttempts:
			return ErrCodeAttempts
		}
		return ErrAlreadyAnswered
	}
	now := s.now()
	if !now.Before(tx.Expires) {
		if _, err := s.expire(ctx, tx); err != nil {
			return err
		}
		return ErrExpired
	}
	if a.Approve && tx.VerificationCode != "" {
		if err := s.checkCode(ctx, tx, a.Code, now); err != nil {
			return err
		}
	}
	var (
		out    mfa.TxOutcome
		result mfa.AuthResult
		reason string
	)
	switch {
	case a.Approve:
		u, err := s.store.GetUser(ctx, tx.UserID)
		if err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		groups, err := s.store.UserGroups(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		switch mfa.EffectiveStatus(u, groups) {
		case mfa.StatusActive, mfa.StatusBypass:
			out = mfa.TxOutcome{State: mfa.TxAllow, Status: StatusAllow, StatusMsg: MsgApproved}
			result, reason = mfa.ResultSuccess, ReasonUserApproved
		case mfa.StatusLockedOut:
			out = mfa.TxOutcome{State: mfa.TxDeny, Status: StatusLockedOut, StatusMsg: MsgLockedOut}
			result, reason = mfa.ResultDenied, ReasonLockedOut
		default:
			out = mfa.TxOutcome{State: mfa.TxDeny, Status: StatusDeny, StatusMsg: MsgDisabled}
			result, reason = mfa.ResultDenied, ReasonUserDisabled
		}
	case a.Fraud:
		out = mfa.TxOutcome{State: mfa.TxDeny, Status: StatusFraud, StatusMsg: MsgFraud}
		result, reason = mfa.ResultFraud, ReasonUserFraud
	default:
		out = mfa.TxOutcome{State: mfa.TxDeny, Status: StatusDeny, StatusMsg: MsgDenied}
		result, reason = mfa.ResultDenied, ReasonUserCancelled
	}
	ok, err := s.complete(ctx, tx, out, result, reason)
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	if !ok {
		cur, err := s.store.GetTransaction(ctx, tx.ID)
		if err == nil && cur.Status == StatusTimeout {
			return ErrExpired
		}
		return ErrAlreadyAnswered
	}
	s.log.InfoContext(ctx, "transaction answered", "txid", tx.ID, "user_id", tx.UserID, "result", string(result))
	if a.Fraud && !a.Approve {
		s.reportFraud(context.WithoutCancel(ctx), tx)
	}
	return nil
}

// checkCode checks a Verified Push code against tx's. A missing code is
// ErrWrongVerificationCode and is not counted. Every code tried is
// counted first, in the store's durable counter for the transaction (one
// atomic conditional write, so parallel answers on any number of nodes
// each get their own count): only the first MaxVerificationAttempts are
// compared at all, and the incorrect one that reaches the limit denies
// the transaction with its auth log record, as a failure.
func (s *Service) checkCode(ctx context.Context, tx mfa.Transaction, code string, now time.Time) error {
	code = strings.TrimSpace(code)
	if code == "" {
		return ErrWrongVerificationCode
	}
	// The window outlives the transaction, so the count never restarts.
	hit, err := s.store.HitRateLimit(ctx, "vpcode:"+tx.ID, MaxVerificationAttempts, tx.Expires.Sub(now)+time.Minute, now)
	if err != nil {
		return fmt.Errorf("answer: count verification code: %w", err)
	}
	if !hit.Allowed {
		return ErrCodeAttempts
	}
	if subtle.ConstantTimeCompare([]byte(code), []byte(tx.VerificationCode)) == 1 {
		return nil
	}
	if hit.Count < MaxVerificationAttempts {
		return ErrWrongVerificationCode
	}
	ok, err := s.complete(ctx, tx, mfa.TxOutcome{State: mfa.TxDeny, Status: StatusDeny, StatusMsg: MsgCodeAttempts},
		mfa.ResultFailure, ReasonCodeAttempts)
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	if ok {
		s.log.WarnContext(ctx, "push denied after too many incorrect verification codes", "txid", tx.ID, "user_id", tx.UserID)
	}
	return ErrCodeAttempts
}

// reportFraud mutes pushes to the phone and emails the fraud address. The
// answer has been recorded; failures here are logged, not returned.
func (s *Service) reportFraud(ctx context.Context, tx mfa.Transaction) {
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "fraud report: settings", reqid.Key, reqid.From(ctx), "txid", tx.ID, "err", err)
		return
	}
	if st.PushMuteAfterFraud > 0 {
		if err := s.store.MutePush(ctx, tx.PhoneID, s.now().Add(st.PushMuteAfterFraud)); err != nil {
			s.log.ErrorContext(ctx, "fraud report: mute pushes", reqid.Key, reqid.From(ctx), "txid", tx.ID, "err", err)
		}
	}
	if !st.FraudEmailEnabled || st.FraudEmail == "" || s.notifier == nil {
		return
	}
	username := tx.DisplayUsername
	if u, err := s.store.GetUser(ctx, tx.UserID); err == nil {
		username = u.Username
	}
	app := tx.IKey
	if in, err := s.store.GetIntegration(ctx, tx.IKey); err == nil {
		app = in.Name
	}
	body := fmt.Sprintf("A user reported a login request as fraudulent.\n\nUser: %s\nApplication: %s\nClient IP: %s\nHostname: %s\nTime: %s\nTransaction: %s\n\nPushes to the device are paused for %s.\n",
		username, app, tx.IP, tx.Hostname, tx.Created.UTC().Format(time.RFC3339), tx.ID, st.PushMuteAfterFraud)
	m := mfa.Message{Channel: mfa.ChannelEmail, To: st.FraudEmail, Subject: "twostep: fraudulent login request reported by " + username,
		Body: mfa.Passcode(body), Context: "fraud", UserID: tx.UserID, TxID: tx.ID}
	if err := s.notifier.Send(ctx, m); err != nil {
		s.log.ErrorContext(ctx, "fraud report: email", reqid.Key, reqid.From(ctx), "txid", tx.ID, "err", err)
	}
}

// AnswerCall records a keypress on a phone call (the voice carrier's
// callback): "1" or "#" approves, "9" reports fraud, anything else
// denies. The same rules as AnswerRequest apply.
func (s *Service) AnswerCall(ctx context.Context, txid, key string) error {
	tx, err := s.store.GetTransaction(ctx, txid)
	if errors.Is(err, mfa.ErrNotFound) || (err == nil && tx.Factor != mfa.FactorPhone) {
		return mfa.E(mfa.NotFound, "transaction not found")
	}
	if err != nil {
		return fmt.Errorf("answer call: %w", err)
	}
	return s.answer(ctx, tx, Answer{Approve: key == "1" || key == "#", Fraud: key == "9", Code: tx.VerificationCode})
}
