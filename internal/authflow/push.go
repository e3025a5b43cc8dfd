package authflow

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Out-of-band factors (DUO-WIRE 2.2, 2.3): push, phone and auto create a
// transaction that the user answers from their authenticator app (push)
// or the phone's keypad (phone). Every transaction ends in allow or deny:
// an answer, or a timeout after Settings.PushTimeout (60 s by default),
// completes it exactly once (the store's CompleteTransaction is a single
// conditional update), with its auth log record in the same write.
//
// The client waits either in Auth (async=0) or by polling AuthStatus
// (async=1). A poll blocks until the transaction is final or
// StatusPollWait passes, except the first poll of a new transaction,
// which answers at once with "pushed"/"calling" so the user sees what
// happens (and a Verified Push code). So one transaction produces at most
// a handful of non-final answers, never the 20 after which released
// duo_unix clients let a login through (DUO-WIRE 2.3).

// Transaction status words (Duo's), and the one status of a transaction
// no poll has reported yet (ours; never shown to clients).
const (
	StatusNew      = "new"
	StatusPushed   = "pushed"
	StatusCalling  = "calling"
	StatusTimeout  = "timeout"
	StatusFraud    = "fraud"
	StatusPushFail = "push_failed"
	ResultWaiting  = "waiting"
)

// Messages of out-of-band factors (Duo's wording where Duo has one).
const (
	MsgPushed        = "Pushed a login request to your device..."
	MsgCalling       = "Calling your phone..."
	MsgApproved      = "Success. Logging you in..."
	MsgDenied        = "Login request denied."
	MsgTimeout       = "Login timed out."
	MsgNoKeypress    = "No keypress detected. Please try again."
	MsgFraud         = "Login request reported as fraudulent."
	MsgNoPushDevice  = "No device can receive login requests. Enter a passcode instead."
	MsgNoPhoneDevice = "No device can take a phone call. Enter a passcode instead."
	MsgMuted         = "Login requests to this device are paused after a fraud report. Enter a passcode instead."
	MsgReactivate    = "This device was reactivated elsewhere or removed. Reactivate the twostep app to use it again."
	MsgCancelled     = "Login request cancelled."
)

// Auth log factors and reasons of out-of-band factors (Duo's words where
// Duo has them; device_muted is ours).
const (
	LogFactorPush        = "duo_push"
	LogFactorPhone       = "phone_call"
	ReasonUserApproved   = "user_approved"
	ReasonUserCancelled  = "user_cancelled"
	ReasonUserFraud      = "user_marked_fraud"
	ReasonNoResponse     = "no_response"
	ReasonNoKeysPressed  = "no_keys_pressed"
	ReasonDeviceMuted    = "device_muted"
	ReasonNoCapable      = "no_capable_device"
	ReasonRememberedDev  = "remembered_device"
	LogFactorRemembered  = "remembered_device"
	defaultPushType      = "Login"
	maxPushInfoBytes     = 20000
	maxDisplayFieldBytes = 256
)

// StatusPollWait is how long one AuthStatus poll blocks at most.
const StatusPollWait = 25 * time.Second

// DefaultRecheck is how often a waiting poll re-reads the store even
// without an event, so a lost event delays an answer but never loses it.
const DefaultRecheck = 10 * time.Second

// WithRecheck sets how often waiting polls re-read the store without an
// event (tests make it short).
func WithRecheck(d time.Duration) Option { return func(s *Service) { s.recheck = d } }

// WithCustomerName sets the organisation name shown by authenticator apps.
func WithCustomerName(name string) Option { return func(s *Service) { s.customer = name } }

// WithEnrollPortal sets the address preauth gives a user who has no device
// yet (Duo's enroll_portal_url): the self-service portal, where the user
// signs in with the first factor and adds one.
func WithEnrollPortal(url string) Option { return func(s *Service) { s.enrollPortal = url } }

// validPushFields checks the push display parameters.
func validPushFields(req AuthRequest) error {
	if len(req.PushInfo) > maxPushInfoBytes {
		return mfa.InvalidField("pushinfo", fmt.Sprintf("must be at most %d bytes", maxPushInfoBytes))
	}
	if req.PushInfo != "" {
		if _, err := url.ParseQuery(req.PushInfo); err != nil {
			return mfa.InvalidField("pushinfo", "must be URL-encoded key=value pairs")
		}
	}
	if len(req.PushType) > maxDisplayFieldBytes {
		return mfa.InvalidField("type", fmt.Sprintf("must be at most %d bytes", maxDisplayFieldBytes))
	}
	if len(req.DisplayUsername) > maxDisplayFieldBytes {
		return mfa.InvalidField("display_username", fmt.Sprintf("must be at most %d bytes", maxDisplayFieldBytes))
	}
	return nil
}

// oobPhone picks the phone for push, phone or auto: device is a phone id,
// "auto" or "" (the first capable phone); nth > 0 is the nth device of
// preauth's list. The returned factor is push or phone (auto resolves to
// push when the phone can, else phone). ok is false when no chosen device
// is capable. An unknown device id is Invalid.
func oobPhone(a account, factor mfa.Factor, device string, nth int, now time.Time) (p mfa.Phone, f mfa.Factor, ok bool, err error) {
	push, phone := method(mfa.FactorPush), method(mfa.FactorPhone)
	can := func(p mfa.Phone) (mfa.Factor, bool) {
		switch factor {
		case mfa.FactorPush, mfa.FactorPhone:
			return factor, method(factor).can(p)
		}
		if push.can(p) && !p.PushMuted(now) {
			return mfa.FactorPush, true
		}
		if phone.can(p) {
			return mfa.FactorPhone, true
		}
		return mfa.FactorPush, push.can(p)
	}
	switch {
	case nth > 0:
		if nth > len(a.phones) {
			return p, factor, false, nil
		}
		p = a.phones[nth-1]
		f, ok = can(p)
		return p, f, ok, nil
	case device == "" || device == "auto":
		for _, p := range a.phones {
			if f, ok := can(p); ok {
				return p, f, true, nil
			}
		}
		return p, factor, false, nil
	}
	for _, p := range a.phones {
		if p.ID == device {
			f, ok = can(p)
			return p, f, ok, nil
		}
	}
	for _, t := range a.tokens {
		if t.ID == device {
			return mfa.Phone{}, factor, false, nil
		}
	}
	return p, factor, false, mfa.InvalidField("device", "unknown device")
}

// DefaultPushLimit bounds pushes and phone calls per user: ten at once,
// then one a minute. A legitimate user retrying a login never meets it;
// someone who has the password and sends push after push hoping the user
// taps Approve by mistake ("MFA fatigue") is answered 429 instead, and the
// log says so.
func DefaultPushLimit() Limit { return Limit{Burst: 10, Every: time.Minute} }

// MsgPushLimited is the error of a push or call over DefaultPushLimit.
const MsgPushLimited = "too many login requests were sent to this user's devices; wait before trying again"

// WithPushLimit sets the per-user limit on pushes and phone calls (a zero
// Limit turns it off). The default is DefaultPushLimit.
func WithPushLimit(l Limit) Option {
	return func(s *Service) { s.byOOB = newLimiter(l, s.now) }
}

// DefaultDurablePushLimit is the cluster-wide ceiling on pushes and calls
// per user when nodes share PostgreSQL (WithDurablePushLimit): above what
// one node's DefaultPushLimit lets through in ten minutes (10 + 10), so it
// bites only when several nodes together would let more through.
var DefaultDurablePushLimit = DurableLimit{Limit: 20, Window: 10 * time.Minute}

// WithDurablePushLimit counts pushes and calls per user in the store too,
// so that the limit holds however many nodes there are (off by default; a
// zero DurableLimit leaves it off).
func WithDurablePushLimit(l DurableLimit) Option {
	return func(s *Service) { s.durOOB = l }
}

// takePush counts one push or call for the user against the in-memory and
// (when on) durable limits, logging a warning when one refuses it.
func (s *Service) takePush(ctx context.Context, d *decision) error {
	ok, wait := s.byOOB.Take(d.a.user.ID)
	var err error
	if !ok {
		err = mfa.RetryLater(MsgPushLimited, wait)
	} else {
		err = s.hitDurable(ctx, s.durOOB, "push:"+d.a.user.ID, MsgPushLimited, "user_id", d.a.user.ID)
	}
	var me *mfa.Error
	if errors.As(err, &me) && me.Kind == mfa.RateLimited {
		s.log.WarnContext(ctx, "push and call limit reached", "user_id", d.a.user.ID,
			"integration", d.req.Integration.IKey, "remote_ip", d.req.IP, "retry_after", me.RetryAfter.Round(time.Second))
	}
	return err
}

// oob starts a push or a phone call for an enrolled, active user.
// keyword is true when the factor was typed where a passcode goes: an
// incapable device is then a deny the user reads, not a bad request.
func (s *Service) oob(ctx context.Context, d *decision, factor mfa.Factor, nth int, keyword bool) (AuthResult, error) {
	now := s.now()
	p, f, ok, err := oobPhone(d.a, factor, d.req.Device, nth, now)
	if err != nil {
		return AuthResult{}, err
	}
	d.factor = logFactor(f)
	if !ok {
		if !keyword && nth == 0 {
			// Duo: HTTP 400, 40002, message_detail "no capable device".
			return AuthResult{}, mfa.InvalidField("device", "no capable device")
		}
		msg := MsgNoPushDevice
		if f == mfa.FactorPhone {
			msg = MsgNoPhoneDevice
		}
		return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonNoCapable, StatusDeny, msg)
	}
	d.device, d.name = p.ID, p.Name
	if f == mfa.FactorPush && p.PushMuted(now) {
		return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonDeviceMuted, StatusDeny, MsgMuted)
	}
	if f == mfa.FactorPhone && s.notifier == nil {
		return AuthResult{}, mfa.E(mfa.Unavailable, "phone calls are not configured")
	}
	if err := s.takePush(ctx, d); err != nil {
		return AuthResult{}, err
	}
	if f == mfa.FactorPhone {
		if err := mfa.HitTelephonyCaps(ctx, s.store, d.a.settings, d.a.user.ID, now); err != nil {
			return AuthResult{}, err
		}
	}
	txid, err := s.newTxID()
	if err != nil {
		return AuthResult{}, err
	}
	timeout := d.a.settings.PushTimeout
	if timeout <= 0 {
		timeout = mfa.DefaultSettings().PushTimeout
	}
	pushType := strings.TrimSpace(d.req.PushType)
	if pushType == "" {
		pushType = defaultPushType
	}
	tx := mfa.Transaction{
		ID: txid, UserID: d.a.user.ID, IKey: d.req.Integration.IKey, Factor: f, PhoneID: p.ID,
		State: mfa.TxPending, Status: StatusNew, StatusMsg: method(f).PendingMsg,
		PushInfo: d.req.PushInfo, Type: pushType + " request", DisplayUsername: d.req.DisplayUsername,
		IP: d.req.IP, Hostname: d.req.Hostname, Created: now, Expires: now.Add(timeout),
	}
	if f == mfa.FactorPush && d.a.settings.VerifiedPush && d.req.VerifiedPush {
		n := d.a.settings.VerifiedPushDigits
		if n < 3 || n > 6 {
			n = 3
		}
		if tx.VerificationCode, err = mfa.RandomDigits(s.rand, n); err != nil {
			return AuthResult{}, err
		}
	}
	if err := s.store.CreateTransaction(ctx, tx); err != nil {
		return AuthResult{}, fmt.Errorf("create transaction: %w", err)
	}
	if f == mfa.FactorPhone {
		if err := s.call(ctx, d, p, tx); err != nil {
			return AuthResult{}, err
		}
	}
	s.log.InfoContext(ctx, "transaction started", "txid", txid, "user_id", d.a.user.ID,
		"integration", d.req.Integration.IKey, "factor", string(f), "remote_ip", d.req.IP)
	if d.req.Async {
		return AuthResult{TxID: txid, VerificationCode: tx.VerificationCode}, nil
	}
	res, err := s.waitFinal(ctx, d.req.Integration, txid, d.req.wantsToken())
	if err != nil {
		return AuthResult{}, err
	}
	res.TxID = txid
	return res, nil
}

// logFactor is the auth log word of an out-of-band factor (the table's).
func logFactor(f mfa.Factor) string { return method(f).LogFactor() }

// call asks the voice notifier to place the call and logs it in the
// telephony log with the carrier's call id. If it cannot, the
// transaction ends at once (deny, push_failed) and the error is
// Unavailable.
func (s *Service) call(ctx context.Context, d *decision, p mfa.Phone, tx mfa.Transaction) error {
	body := s.callText(d.req.Integration.Name, d.a.user.Username)
	m := mfa.Message{Channel: mfa.ChannelVoice, To: p.Number, Body: mfa.Passcode(body),
		Context: "authentication", UserID: d.a.user.ID, TxID: tx.ID, Extension: p.Extension,
		ExtensionPreDelay: p.PreDelay, ExtensionPostDelay: p.PostDelay}
	rcpt, err := mfa.Deliver(ctx, s.notifier, m)
	if err != nil {
		_, _ = s.complete(context.WithoutCancel(ctx), tx, mfa.TxOutcome{State: mfa.TxDeny, Status: StatusPushFail,
			StatusMsg: "Could not place the phone call."}, mfa.ResultError, "call_failed")
		return mfa.Wrap(mfa.Unavailable, "could not place the phone call", err)
	}
	if _, err := s.store.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: s.now(), Type: string(mfa.ChannelVoice),
		Context: "authentication", Phone: p.Number, UserID: d.a.user.ID, Credits: rcpt.Credits(mfa.ChannelVoice),
		CarrierID: rcpt.CarrierID}); err != nil {
		return fmt.Errorf("telephony log: %w", err)
	}
	return nil
}

// StatusResult is one auth_status answer.
type StatusResult struct {
	Result             string // ResultWaiting, ResultAllow or ResultDeny
	Status             string
	StatusMsg          string
	TrustedDeviceToken string // on allow, when the integration remembers devices
	VerificationCode   string // Verified Push, while waiting
}

// Final reports whether the answer ends the transaction.
func (r StatusResult) Final() bool { return r.Result != ResultWaiting }

// AuthStatus answers auth_status for a transaction of integration in:
// at once for the first poll of a new transaction and for a final one,
// else after it becomes final or wait passes (capped at StatusPollWait;
// 0 means StatusPollWait). An unknown txid, or one of another
// integration, is Invalid naming txid. At most DefaultIntegrationPolls (see
// WithPollLimits) polls wait at once per integration on a node; one more
// is ErrStatusPolls.
func (s *Service) AuthStatus(ctx context.Context, in mfa.Integration, txid string, wait time.Duration) (StatusResult, error) {
	return s.authStatus(ctx, in, txid, wait, true)
}

// AuthStatusAsked is AuthStatus for a front end that asked the person
// whether to remember this device (AuthRequest.AskRemember): an allow
// carries a remembered-device token only when remember is true (and the
// integration remembers devices); otherwise none is issued or stored.
func (s *Service) AuthStatusAsked(ctx context.Context, in mfa.Integration, txid string, wait time.Duration, remember bool) (StatusResult, error) {
	return s.authStatus(ctx, in, txid, wait, remember)
}

func (s *Service) authStatus(ctx context.Context, in mfa.Integration, txid string, wait time.Duration, remember bool) (StatusResult, error) {
	if txid == "" {
		return StatusResult{}, mfa.InvalidField("txid", "txid is required")
	}
	if wait <= 0 || wait > StatusPollWait {
		wait = StatusPollWait
	}
	tx, err := s.txOf(ctx, in, txid)
	if err != nil {
		return StatusResult{}, err
	}
	if tx.State == mfa.TxPending && tx.Status == StatusNew {
		shown := method(tx.Factor).PendingStatus
		err := s.store.SetTransactionStatus(ctx, tx.ID, shown, tx.StatusMsg)
		switch {
		case err == nil:
			return StatusResult{Result: ResultWaiting, Status: shown, StatusMsg: withCode(tx), VerificationCode: tx.VerificationCode}, nil
		case !errors.Is(err, mfa.ErrConflict):
			return StatusResult{}, fmt.Errorf("auth status: %w", err)
		}
		// completed meanwhile: fall through to wait, which returns at once
	}
	if tx.State != mfa.TxPending {
		return s.statusOf(ctx, in, tx, remember) // final: nothing to wait for
	}
	if !s.statusPolls.enter(in.IKey) {
		s.log.WarnContext(ctx, "auth_status poll refused: too many waiting", "integration", in.IKey, "txid", tx.ID)
		return StatusResult{}, ErrStatusPolls
	}
	defer s.statusPolls.leave(in.IKey)
	tx, err = s.wait(ctx, tx.ID, s.now().Add(wait))
	if err != nil {
		return StatusResult{}, err
	}
	return s.statusOf(ctx, in, tx, remember)
}

// Cancel ends a pending push or phone call of integration in that the
// person logging in gave up on (the browser prompt's cancel, to pick
// another method): deny, status deny, message MsgCancelled, with one auth
// log record (reason user_cancelled, Duo's word for a login the user
// cancelled; result denied, so it does not count toward the lockout) in
// the same store write, and the request disappears from the app. An
// unknown txid, or one of another integration, is Invalid naming txid; a
// transaction that has already ended (answered, timed out, cancelled) is
// Conflict and keeps its answer.
func (s *Service) Cancel(ctx context.Context, in mfa.Integration, txid string) error {
	if txid == "" {
		return mfa.InvalidField("txid", "txid is required")
	}
	tx, err := s.txOf(ctx, in, txid)
	if err != nil {
		return err
	}
	if tx.State == mfa.TxPending && !s.now().Before(tx.Expires) {
		if _, err := s.expire(ctx, tx); err != nil {
			return err
		}
		return mfa.E(mfa.Conflict, "the login request has already ended")
	}
	ok := false
	if tx.State == mfa.TxPending {
		out := mfa.TxOutcome{State: mfa.TxDeny, Status: StatusDeny, StatusMsg: MsgCancelled}
		if ok, err = s.complete(ctx, tx, out, mfa.ResultDenied, ReasonUserCancelled); err != nil {
			return fmt.Errorf("cancel: %w", err)
		}
	}
	if !ok {
		return mfa.E(mfa.Conflict, "the login request has already ended")
	}
	s.log.InfoContext(ctx, "transaction cancelled", "txid", tx.ID, "user_id", tx.UserID, "integration", in.IKey)
	return nil
}

// waitFinal waits until the transaction is final (a synchronous auth).
func (s *Service) waitFinal(ctx context.Context, in mfa.Integration, txid string, remember bool) (AuthResult, error) {
	tx, err := s.wait(ctx, txid, time.Time{})
	if err != nil {
		return AuthResult{}, err
	}
	st, err := s.statusOf(ctx, in, tx, remember)
	if err != nil {
		return AuthResult{}, err
	}
	return AuthResult{Result: st.Result, Status: st.Status, StatusMsg: st.StatusMsg, TrustedDeviceToken: st.TrustedDeviceToken}, nil
}

func (s *Service) txOf(ctx context.Context, in mfa.Integration, txid string) (mfa.Transaction, error) {
	tx, err := s.store.GetTransaction(ctx, txid)
	if errors.Is(err, mfa.ErrNotFound) || (err == nil && tx.IKey != in.IKey) {
		return mfa.Transaction{}, mfa.InvalidField("txid", "unknown txid")
	}
	if err != nil {
		return mfa.Transaction{}, fmt.Errorf("get transaction: %w", err)
	}
	return tx, nil
}

// statusOf turns a transaction into an auth_status answer, with the
// transaction's remembered-device token on allow when the integration asks
// for one (rememberDevice) and remember is true.
func (s *Service) statusOf(ctx context.Context, in mfa.Integration, tx mfa.Transaction, remember bool) (StatusResult, error) {
	switch tx.State {
	case mfa.TxAllow:
		res := StatusResult{Result: ResultAllow, Status: StatusAllow, StatusMsg: tx.StatusMsg}
		if tx.Status != "" {
			res.Status = tx.Status
		}
		// The transaction's own token, the same on every poll, and only
		// while the end is recent.
		if remember && !tx.Answered.IsZero() && s.now().Sub(tx.Answered) <= trustedTokenGrace {
			tok, err := s.rememberDevice(ctx, in, tx.UserID, tx.ID)
			if err != nil {
				return StatusResult{}, err
			}
			res.TrustedDeviceToken = tok
		}
		return res, nil
	case mfa.TxDeny:
		st := tx.Status
		if st == "" {
			st = StatusDeny
		}
		return StatusResult{Result: ResultDeny, Status: st, StatusMsg: tx.StatusMsg}, nil
	}
	status := tx.Status
	if status == StatusNew {
		status = method(tx.Factor).PendingStatus
	}
	return StatusResult{Result: ResultWaiting, Status: status, StatusMsg: withCode(tx), VerificationCode: tx.VerificationCode}, nil
}

// withCode adds the Verified Push code to a pending push's message.
func withCode(tx mfa.Transaction) string {
	if tx.VerificationCode == "" {
		return tx.StatusMsg
	}
	return fmt.Sprintf("%s Enter the code %s in the twostep app to approve.", tx.StatusMsg, tx.VerificationCode)
}

// wait blocks until transaction id is final, or until until passes (zero:
// no limit but the transaction's own expiry), ending it as timed out when
// it expires. It wakes on the store's events and re-reads the store every
// recheck interval regardless.
func (s *Service) wait(ctx context.Context, id string, until time.Time) (mfa.Transaction, error) {
	ch, cancel := s.store.Subscribe(mfa.TopicTransaction(id))
	defer cancel()
	recheck := s.recheck
	if recheck <= 0 {
		recheck = DefaultRecheck
	}
	timer := time.NewTimer(recheck)
	defer timer.Stop()
	for {
		tx, err := s.store.GetTransaction(ctx, id)
		if err != nil {
			return mfa.Transaction{}, fmt.Errorf("get transaction: %w", err)
		}
		if tx.State != mfa.TxPending {
			return tx, nil
		}
		now := s.now()
		if !now.Before(tx.Expires) {
			if _, err := s.expire(ctx, tx); err != nil {
				return mfa.Transaction{}, err
			}
			continue
		}
		if !until.IsZero() && !now.Before(until) {
			return tx, nil
		}
		next := tx.Expires
		if !until.IsZero() && until.Before(next) {
			next = until
		}
		d := min(next.Sub(now), recheck)
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return mfa.Transaction{}, ctx.Err()
		case <-ch:
		case <-timer.C:
		}
	}
}

// expire ends a pending transaction whose time is up: deny/timeout. It
// returns false when another request completed it first.
func (s *Service) expire(ctx context.Context, tx mfa.Transaction) (bool, error) {
	out := mfa.TxOutcome{State: mfa.TxDeny, Status: StatusTimeout, StatusMsg: MsgTimeout}
	reason := ReasonNoResponse
	if tx.Factor == mfa.FactorPhone {
		out.StatusMsg, reason = MsgNoKeypress, ReasonNoKeysPressed
	}
	return s.complete(ctx, tx, out, mfa.ResultFailure, reason)
}

// ExpireTransactions ends every pending transaction whose time is up (the
// server's reaper calls it; waiting polls also end their own).
func (s *Service) ExpireTransactions(ctx context.Context) (int, error) {
	n := 0
	for {
		txs, err := s.store.ExpiredTransactions(ctx, s.now(), 100)
		if err != nil {
			return n, fmt.Errorf("expired transactions: %w", err)
		}
		progress := false
		for _, tx := range txs {
			ok, err := s.expire(ctx, tx)
			if err != nil {
				return n, err
			}
			if ok {
				n++
				progress = true
			}
		}
		if len(txs) < 100 || !progress {
			return n, nil
		}
	}
}

// complete ends a pending transaction with out, writing its auth log
// record and the user's side (a failure outcome counts toward the user's
// lockout, a success resets the count) in the same store write. It returns
// false (and no error) when the transaction was no longer pending.
func (s *Service) complete(ctx context.Context, tx mfa.Transaction, out mfa.TxOutcome, result mfa.AuthResult, reason string) (bool, error) {
	now := s.now()
	out.At = now
	var st mfa.Settings
	switch {
	case out.State == mfa.TxAllow:
		out.UserSuccess = true
	case result == mfa.ResultFailure || result == mfa.ResultFraud:
		var err error
		if st, err = s.store.GetSettings(ctx); err != nil {
			return false, fmt.Errorf("get settings: %w", err)
		}
		out.UserFailure, out.Threshold = true, st.LockoutThreshold
	}
	e := mfa.AuthLogEntry{TxID: tx.ID, Time: now, EventType: "authentication", UserID: tx.UserID,
		IKey: tx.IKey, Factor: logFactor(tx.Factor), Result: result, Reason: reason,
		IP: tx.IP, Hostname: tx.Hostname, DeviceID: tx.PhoneID}
	if u, err := s.store.GetUser(ctx, tx.UserID); err == nil {
		e.Username = u.Username
	}
	if in, err := s.store.GetIntegration(ctx, tx.IKey); err == nil {
		e.IntegrationName = in.Name
	}
	if p, err := s.store.GetPhone(ctx, tx.PhoneID); err == nil {
		e.DeviceName = p.Name
	}
	if _, err := s.store.CompleteTransaction(ctx, tx.ID, out, &e); err != nil {
		if errors.Is(err, mfa.ErrConflict) || errors.Is(err, mfa.ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("complete transaction: %w", err)
	}
	if out.UserFailure && out.Threshold > 0 && st.FraudEmailEnabled && st.FraudEmail != "" {
		// Did this failure lock the user out? The store stamps the lockout
		// with the write's time (PostgreSQL keeps microseconds), so only
		// the write that locked matches; later failures keep the stamp.
		if u, err := s.store.GetUser(ctx, tx.UserID); err == nil && u.Status == mfa.StatusLockedOut &&
			u.LockedAt.Sub(now).Abs() < time.Millisecond {
			s.sendLockoutNotice(ctx, st, u, e.IntegrationName, tx.IP, tx.Hostname, u.FailedAttempts)
		}
	}
	return true, nil
}
