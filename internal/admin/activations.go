package admin

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Activation links (DUO-WIRE.md 3.3 and 7.6). An activation code handed to
// an app is "<CODE>-<host>", where CODE is mfa.ActivationCodeLength random
// characters of A-Za-z0-9 and host is base64 (standard alphabet, no
// padding) of the public API host, so that the app knows which server to
// call. Only a keyed hash of CODE is stored. The links built from it:
//
//	activation_url      https://<host>/activate/<CODE>-<host64>
//	activation_barcode  https://<host>/frame/qr?value=<CODE>-<host64>  (a PNG QR code of the code)
//	installation_url    https://<host>/install
//
// The pages behind them are internal/web's. An activation is single use
// and expires after valid_secs. Issuing a new one does not void older ones
// (an administrator may hand out a link and send an SMS for one phone);
// redeeming any of them voids the others of that phone and the user's
// enrolment codes in the same store transaction (mfa.ActivationDeviceStore)
// and revokes the phone's other authenticator installs.
const (
	DefaultActivationValidSecs = 24 * 60 * 60     // activation_url, send_sms_activation
	DefaultEnrollValidSecs     = 7 * 24 * 60 * 60 // users/enroll: a week to read the email
	MaxActivationValidSecs     = 30 * 24 * 60 * 60

	// ActURL and InstURL are the placeholders an activation_msg and an
	// installation_msg must contain.
	ActURL  = "<acturl>"
	InstURL = "<insturl>"

	DefaultActivationMsg   = "To activate the twostep app, tap this link: " + ActURL
	DefaultInstallationMsg = "To install the twostep app, open this link: " + InstURL

	// MaxSMSTemplateLen bounds activation_msg and installation_msg (before
	// the link is put in).
	MaxSMSTemplateLen = 480

	activationAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

	validSecsField       = "valid_secs"
	activationMsgField   = "activation_msg"
	installationMsgField = "installation_msg"
	phoneIDField         = "phone_id"

	ctxEnrollment    = "enrollment"
	ctxAdministrator = "administrator"
)

// ActivationRequest asks for an activation of a phone. Nil fields take
// Duo's defaults: valid_secs 86400, the default messages.
type ActivationRequest struct {
	ValidSecs       *int
	Install         bool    // also give (or send) the installation link
	ActivationMsg   *string // send_sms_activation: must contain <acturl>
	InstallationMsg *string // must contain <insturl>
}

// ActivationLink is a new activation's links. URL, Barcode and Code carry
// the secret code: show them to the caller, never log them.
type ActivationLink struct {
	Code       mfa.Passcode // the full code, "<CODE>-<host64>"
	URL        string       // activation_url
	Barcode    string       // activation_barcode
	InstallURL string       // installation_url; "" unless Install was asked
	ValidSecs  int
	Expires    time.Time
}

// SMSActivation is what send_sms_activation sent.
type SMSActivation struct {
	Barcode         string // activation_barcode
	ActivationMsg   string // the message as sent, with the link
	InstallationMsg string // as sent; "" unless Install was asked
	ValidSecs       int
}

// ActivationCode is the code an app is given: code, "-", and host in
// base64 without padding.
func ActivationCode(code, apiHost string) string {
	return code + "-" + base64.RawStdEncoding.EncodeToString([]byte(apiHost))
}

// ParseActivationCode splits a full activation code (optionally prefixed
// "duo://", as Duo's QR codes are) into its random part and the API host.
// Padded base64 is accepted too.
func ParseActivationCode(full string) (code, apiHost string, err error) {
	full = strings.TrimPrefix(strings.TrimSpace(full), "duo://")
	code, host64, ok := strings.Cut(full, "-")
	if !ok || len(code) != mfa.ActivationCodeLength || strings.Trim(code, activationAlphabet) != "" {
		return "", "", mfa.E(mfa.Invalid, "not an activation code")
	}
	host, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(host64, "="))
	if err != nil || len(host) == 0 || strings.IndexFunc(string(host), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/'
	}) >= 0 {
		return "", "", mfa.E(mfa.Invalid, "not an activation code: bad host part")
	}
	return code, string(host), nil
}

// ActivationURL creates an activation for the phone and returns its links
// (POST /admin/v1/phones/{id}/activation_url). The phone must be
// associated with a user: the activation belongs to the first of the
// phone's users (the oldest), who is the one the app's install is bound
// to. Landlines cannot run the app.
func (s *Service) ActivationURL(ctx context.Context, a Actor, phoneID string, req ActivationRequest) (ActivationLink, error) {
	if err := s.authorize(ctx, a, SendActivations); err != nil {
		return ActivationLink{}, err
	}
	valid, err := validSecs(req.ValidSecs, DefaultActivationValidSecs)
	if err != nil {
		return ActivationLink{}, err
	}
	if err := s.needHost(); err != nil {
		return ActivationLink{}, err
	}
	p, u, err := s.activationPhone(ctx, phoneID, false)
	if err != nil {
		return ActivationLink{}, err
	}
	var link ActivationLink
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		var act mfa.Activation
		var err error
		if link, act, err = s.newActivation(ctx, u.ID, p.ID, valid, req.Install); err != nil {
			return err
		}
		return s.logChange(ctx, a, "phone_activation_url", "phone", p.ID, describe(activationLog(act, valid)))
	})
	if err != nil {
		return ActivationLink{}, err
	}
	return link, nil
}

// SendSMSActivation creates an activation for the phone, as ActivationURL
// does, and texts its link to the phone (with the installation link first
// when Install). The phone must be able to receive SMS. Each SMS sent is
// one credit in the telephony log. If delivery fails the request is
// Unavailable; the activation already created was never shown to anyone
// and expires unused.
func (s *Service) SendSMSActivation(ctx context.Context, a Actor, phoneID string, req ActivationRequest) (SMSActivation, error) {
	if err := s.authorize(ctx, a, SendActivations); err != nil {
		return SMSActivation{}, err
	}
	valid, err := validSecs(req.ValidSecs, DefaultActivationValidSecs)
	if err != nil {
		return SMSActivation{}, err
	}
	actMsg, err := smsTemplate(activationMsgField, req.ActivationMsg, DefaultActivationMsg, ActURL)
	if err != nil {
		return SMSActivation{}, err
	}
	instMsg, err := smsTemplate(installationMsgField, req.InstallationMsg, DefaultInstallationMsg, InstURL)
	if err != nil {
		return SMSActivation{}, err
	}
	if err := s.needNotifier(); err != nil {
		return SMSActivation{}, err
	}
	if err := s.needHost(); err != nil {
		return SMSActivation{}, err
	}
	p, u, err := s.activationPhone(ctx, phoneID, true)
	if err != nil {
		return SMSActivation{}, err
	}
	link, act, err := s.newActivation(ctx, u.ID, p.ID, valid, req.Install)
	if err != nil {
		return SMSActivation{}, err
	}
	out := SMSActivation{Barcode: link.Barcode, ValidSecs: valid,
		ActivationMsg: strings.ReplaceAll(actMsg, ActURL, link.URL)}
	if req.Install {
		out.InstallationMsg = strings.ReplaceAll(instMsg, InstURL, link.InstallURL)
		if err := s.sendSMS(ctx, p, u.ID, ctxEnrollment, out.InstallationMsg); err != nil {
			return SMSActivation{}, err
		}
	}
	if err := s.sendSMS(ctx, p, u.ID, ctxEnrollment, out.ActivationMsg); err != nil {
		return SMSActivation{}, err
	}
	desc := activationLog(act, valid)
	desc["install"] = req.Install
	if err := s.logChange(ctx, a, "phone_send_sms_activation", "phone", p.ID, describe(desc)); err != nil {
		return SMSActivation{}, err
	}
	return out, nil
}

// SendSMSInstallation texts the installation link to the phone and returns
// the message sent. It creates no activation, so the phone need not be
// associated with a user (the telephony log names its first user, if any).
func (s *Service) SendSMSInstallation(ctx context.Context, a Actor, phoneID string, installationMsg *string) (string, error) {
	if err := s.authorize(ctx, a, SendActivations); err != nil {
		return "", err
	}
	instMsg, err := smsTemplate(installationMsgField, installationMsg, DefaultInstallationMsg, InstURL)
	if err != nil {
		return "", err
	}
	if err := s.needNotifier(); err != nil {
		return "", err
	}
	if err := s.needHost(); err != nil {
		return "", err
	}
	p, err := s.smsPhone(ctx, phoneID)
	if err != nil {
		return "", err
	}
	users, err := s.store.PhoneUsers(ctx, p.ID)
	if err != nil {
		return "", fmt.Errorf("send sms installation: %w", err)
	}
	userID := ""
	if len(users) > 0 {
		userID = users[0].ID
	}
	msg := strings.ReplaceAll(instMsg, InstURL, s.installURL())
	if err := s.sendSMS(ctx, p, userID, ctxEnrollment, msg); err != nil {
		return "", err
	}
	if err := s.logChange(ctx, a, "phone_send_sms_installation", "phone", p.ID, describe(map[string]any{"number": p.Number})); err != nil {
		return "", err
	}
	return msg, nil
}

// validSecs checks an activation's valid_secs: 1 second to 30 days.
func validSecs(v *int, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 || *v > MaxActivationValidSecs {
		return 0, mfa.InvalidField(validSecsField, fmt.Sprintf("must be between 1 and %d (30 days)", MaxActivationValidSecs))
	}
	return *v, nil
}

// smsTemplate checks a message template: at most MaxSMSTemplateLen
// characters, no control characters but newlines, holding placeholder.
func smsTemplate(field string, v *string, def, placeholder string) (string, error) {
	if v == nil || strings.TrimSpace(*v) == "" {
		return def, nil
	}
	msg, err := checkText(field, *v, MaxSMSTemplateLen, true)
	if err != nil {
		return "", err
	}
	if !strings.Contains(msg, placeholder) {
		return "", mfa.InvalidField(field, "must contain "+placeholder+", where the link goes")
	}
	return msg, nil
}

func (s *Service) needNotifier() error {
	if s.notifier == nil {
		return mfa.E(mfa.Unavailable, "message delivery is not configured")
	}
	return nil
}

func (s *Service) needHost() error {
	if s.apiHost == "" {
		return mfa.E(mfa.Unavailable, "the server's public host name is not configured")
	}
	return nil
}

func (s *Service) installURL() string { return "https://" + s.apiHost + "/install" }

// smsPhone returns a phone that can receive SMS: a mobile (or unknown
// type) phone with a number.
func (s *Service) smsPhone(ctx context.Context, phoneID string) (mfa.Phone, error) {
	p, err := s.store.GetPhone(ctx, phoneID)
	if err != nil {
		return mfa.Phone{}, fmt.Errorf("get phone: %w", err)
	}
	if !p.Can(mfa.CapSMS) {
		return mfa.Phone{}, mfa.InvalidField(phoneIDField, "the phone cannot receive SMS: it needs a number and type mobile")
	}
	return p, nil
}

// activationPhone returns the phone to activate and its first user.
func (s *Service) activationPhone(ctx context.Context, phoneID string, sms bool) (mfa.Phone, mfa.User, error) {
	var p mfa.Phone
	var err error
	if sms {
		p, err = s.smsPhone(ctx, phoneID)
	} else if p, err = s.store.GetPhone(ctx, phoneID); err != nil {
		err = fmt.Errorf("get phone: %w", err)
	}
	if err != nil {
		return mfa.Phone{}, mfa.User{}, err
	}
	if p.Type == mfa.PhoneLandline {
		return mfa.Phone{}, mfa.User{}, mfa.InvalidField(phoneIDField, "a landline cannot run the app")
	}
	users, err := s.store.PhoneUsers(ctx, p.ID)
	if err != nil {
		return mfa.Phone{}, mfa.User{}, fmt.Errorf("activate phone: %w", err)
	}
	if len(users) == 0 {
		return mfa.Phone{}, mfa.User{}, mfa.InvalidField(phoneIDField, "the phone is not associated with a user; associate it first")
	}
	return p, users[0], nil
}

// newActivation stores a new activation for the user (and phone, unless
// empty) valid for validSecs and returns its links.
func (s *Service) newActivation(ctx context.Context, userID, phoneID string, validSecs int, install bool) (ActivationLink, mfa.Activation, error) {
	code, err := mfa.RandomString(s.rand, activationAlphabet, mfa.ActivationCodeLength)
	if err != nil {
		return ActivationLink{}, mfa.Activation{}, fmt.Errorf("new activation: %w", err)
	}
	id, err := mfa.NewID(mfa.PrefixActivation, s.rand)
	if err != nil {
		return ActivationLink{}, mfa.Activation{}, fmt.Errorf("new activation: %w", err)
	}
	now := s.now()
	act := mfa.Activation{ID: id, Code: mfa.Passcode(code), UserID: userID, PhoneID: phoneID,
		Created: now, Expires: now.Add(time.Duration(validSecs) * time.Second)}
	if err := s.store.CreateActivation(ctx, act); err != nil {
		return ActivationLink{}, mfa.Activation{}, fmt.Errorf("new activation: %w", err)
	}
	full := ActivationCode(code, s.apiHost)
	link := ActivationLink{
		Code:      mfa.Passcode(full),
		URL:       "https://" + s.apiHost + "/activate/" + full,
		Barcode:   "https://" + s.apiHost + "/frame/qr?value=" + url.QueryEscape(full),
		ValidSecs: validSecs,
		Expires:   act.Expires,
	}
	if install {
		link.InstallURL = s.installURL()
	}
	act.Code = ""
	return link, act, nil
}

// sendSMS texts body to the phone and records it in the telephony log
// (the carrier's message id, a credit per SMS segment). A send over a daily telephony cap is RateLimited; a delivery
// failure is Unavailable and logs nothing.
func (s *Service) sendSMS(ctx context.Context, p mfa.Phone, userID, why, body string) error {
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return fmt.Errorf("send sms: %w", err)
	}
	if err := mfa.HitTelephonyCaps(ctx, s.store, st, userID, s.now()); err != nil {
		return err
	}
	m := mfa.Message{Channel: mfa.ChannelSMS, To: p.Number, Body: mfa.Passcode(body), Context: why, UserID: userID}
	rcpt, err := mfa.Deliver(ctx, s.notifier, m)
	if err != nil {
		return mfa.Wrap(mfa.Unavailable, "could not send the message", err)
	}
	_, err = s.store.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: s.now(), Type: string(mfa.ChannelSMS),
		Context: why, Phone: p.Number, UserID: userID, Credits: rcpt.Credits(mfa.ChannelSMS), CarrierID: rcpt.CarrierID})
	if err != nil {
		return fmt.Errorf("telephony log: %w", err)
	}
	return nil
}

// activationLog describes an activation for the administrator log: never
// its code.
func activationLog(act mfa.Activation, validSecs int) map[string]any {
	d := map[string]any{"activation_id": act.ID, "user_id": act.UserID, "valid_secs": validSecs}
	if act.PhoneID != "" {
		d["phone_id"] = act.PhoneID
	}
	return d
}

// ReapActivations deletes expired and redeemed activation codes (run
// periodically by the server; redeeming already refuses them).
func (s *Service) ReapActivations(ctx context.Context) (int, error) {
	n, err := s.store.DeleteExpiredActivations(ctx, s.now())
	if err != nil {
		return 0, fmt.Errorf("reap activations: %w", err)
	}
	return n, nil
}
