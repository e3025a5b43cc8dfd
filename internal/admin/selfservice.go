package admin

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Self-service: what a user may do to their own account at the portal.
// Every method here takes an ActorUser (UserActor) and acts only on that
// user's own devices; an id that is not the user's is NotFound, exactly
// like an id that does not exist, so that the portal cannot be used to
// learn other users' device ids. Each change is one store transaction with
// its admin-log record (actor kind "user", the source address in the
// description), like every other admin action.

// UserActor is the actor for user u acting on their own account from ip.
func UserActor(u mfa.User, ip string) Actor {
	return Actor{Kind: ActorUser, ID: u.ID, Name: u.Username, IP: ip}
}

// Self-service limits and field names.
const (
	MaxDeviceName = 60 // runes, for a phone's or an authenticator app's name

	nameField = "name"
)

// errNoSuchDevice is what a user gets for a device that does not exist or
// is not theirs.
var errNoSuchDevice = mfa.E(mfa.NotFound, "That device is not one of yours. Reload your devices and try again.")

// DeviceKind tells phones from tokens in a SelfDevice.
type DeviceKind string

// Device kinds.
const (
	DevicePhone DeviceKind = "phone"
	DeviceToken DeviceKind = "token"
)

// SelfDevice is one of a user's devices as the portal shows it.
type SelfDevice struct {
	ID           string
	Kind         DeviceKind
	Name         string // the phone's name, the app's name, or the token's serial
	Phone        mfa.Phone
	Token        mfa.Token // secrets removed
	UserApp      bool      // a standard authenticator app the user added (a t6 token named by them)
	Capabilities []mfa.Capability
	LastUsed     time.Time // the last successful login with it; zero if never
	// SMSNextCode is the first digit of the next unused SMS passcode of the
	// phone's current batch; "" when there is none.
	SMSNextCode string
}

func (s *Service) selfCheck(a Actor) error {
	if a.Kind != ActorUser || a.ID == "" {
		return mfa.E(mfa.Denied, "only a user may use self-service")
	}
	return nil
}

// SelfUser returns the acting user.
func (s *Service) SelfUser(ctx context.Context, a Actor) (mfa.User, error) {
	if err := s.selfCheck(a); err != nil {
		return mfa.User{}, err
	}
	u, err := s.store.GetUser(ctx, a.ID)
	if err != nil {
		return mfa.User{}, fmt.Errorf("self user: %w", err)
	}
	return u, nil
}

// SelfDevices lists the user's phones, then tokens, each with what it can
// do and when it was last used to log in.
func (s *Service) SelfDevices(ctx context.Context, a Actor) ([]SelfDevice, error) {
	if err := s.selfCheck(a); err != nil {
		return nil, err
	}
	phones, err := s.store.UserPhones(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("self devices: %w", err)
	}
	tokens, err := s.store.UserTokens(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("self devices: %w", err)
	}
	out := make([]SelfDevice, 0, len(phones)+len(tokens))
	for _, p := range phones {
		d := SelfDevice{ID: p.ID, Kind: DevicePhone, Name: p.Name, Phone: p, Capabilities: p.Capabilities()}
		if p.Can(mfa.CapSMS) {
			next, _, err := s.store.SMSBatchState(ctx, a.ID, p.ID, s.now())
			switch {
			case err == nil:
				d.SMSNextCode = fmt.Sprint((next + 1) % 10)
			case !errors.Is(err, mfa.ErrNotFound):
				return nil, fmt.Errorf("self devices: %w", err)
			}
		}
		out = append(out, d)
	}
	for _, t := range tokens {
		d := SelfDevice{ID: t.ID, Kind: DeviceToken, Name: t.Serial, Token: withoutSecrets(t),
			Capabilities: []mfa.Capability{mfa.CapMobileOTP}}
		if name, ok := mfa.UserAppName(a.Name, t); ok {
			d.Name, d.UserApp = name, true
		}
		out = append(out, d)
	}
	for i := range out {
		logs, _, err := s.store.ListAuthLog(ctx, mfa.AuthLogFilter{UserIDs: []string{a.ID}, DeviceIDs: []string{out[i].ID},
			Results: []mfa.AuthResult{mfa.ResultSuccess}, Descending: true, Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("self devices: %w", err)
		}
		if len(logs) == 1 {
			out[i].LastUsed = logs[0].Time
		}
		if out[i].Kind == DevicePhone && out[i].Phone.LastSeen.After(out[i].LastUsed) {
			out[i].LastUsed = out[i].Phone.LastSeen
		}
	}
	return out, nil
}

// SelfDevice returns one of the user's devices; NotFound for any other id.
func (s *Service) SelfDevice(ctx context.Context, a Actor, id string) (SelfDevice, error) {
	devs, err := s.SelfDevices(ctx, a)
	if err != nil {
		return SelfDevice{}, err
	}
	for _, d := range devs {
		if d.ID == id && id != "" {
			return d, nil
		}
	}
	return SelfDevice{}, errNoSuchDevice
}

// checkDeviceName validates a user-given device name: trimmed, 1 to
// MaxDeviceName characters, no control characters.
func checkDeviceName(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch n := utf8.RuneCountInString(v); {
	case !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0:
		return "", mfa.InvalidField(nameField, "Use letters, digits and punctuation only.")
	case n == 0:
		return "", mfa.InvalidField(nameField, "Enter a name, such as \"Work phone\".")
	case n > MaxDeviceName:
		return "", mfa.InvalidField(nameField, fmt.Sprintf("Use at most %d characters.", MaxDeviceName))
	}
	return v, nil
}

// SelfRenameDevice renames one of the user's phones or authenticator apps.
// Hardware tokens keep their serial (an administrator's record).
func (s *Service) SelfRenameDevice(ctx context.Context, a Actor, id, name string) error {
	d, err := s.SelfDevice(ctx, a, id)
	if err != nil {
		return err
	}
	if name, err = checkDeviceName(name); err != nil {
		return err
	}
	switch {
	case d.Kind == DevicePhone:
		return s.store.Atomic(ctx, func(ctx context.Context) error {
			p, err := s.store.GetPhone(ctx, id)
			if err != nil {
				return fmt.Errorf("rename phone: %w", err)
			}
			p.Name = name
			if err := s.store.UpdatePhone(ctx, p); err != nil {
				return fmt.Errorf("rename phone: %w", err)
			}
			return s.logChange(ctx, a, "phone_update", "phone", p.ID, describe(phoneLog(p)))
		})
	case d.UserApp:
		return s.store.Atomic(ctx, func(ctx context.Context) error {
			serial := mfa.UserAppSerial(a.Name, name)
			if err := s.store.RenameToken(ctx, id, serial); err != nil {
				if errors.Is(err, mfa.ErrConflict) {
					return mfa.InvalidField(nameField, "You already have an app with that name. Choose another.")
				}
				return fmt.Errorf("rename app: %w", err)
			}
			return s.logChange(ctx, a, "token_update", "token", id, changeDetails(map[string]any{"serial": serial}))
		})
	}
	return mfa.InvalidField(nameField, "A hardware token keeps its serial number as its name.")
}

// SelfRemoveDevice removes one of the user's devices: a phone or an
// authenticator app the user alone has is deleted (its app installs stop
// working); one shared with another user, and a hardware token, is only
// detached from this user.
func (s *Service) SelfRemoveDevice(ctx context.Context, a Actor, id string) error {
	d, err := s.SelfDevice(ctx, a, id)
	if err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if d.Kind == DevicePhone {
			users, err := s.store.PhoneUsers(ctx, id)
			if err != nil {
				return fmt.Errorf("remove phone: %w", err)
			}
			if len(users) > 1 {
				if err := s.store.DetachPhone(ctx, a.ID, id); err != nil {
					return fmt.Errorf("remove phone: %w", err)
				}
				return s.logChange(ctx, a, "user_disassociate_phone", "user", a.ID, describe(map[string]any{"phone_id": id}))
			}
			if err := s.store.DeletePhone(ctx, id); err != nil {
				return fmt.Errorf("remove phone: %w", err)
			}
			return s.logChange(ctx, a, "phone_delete", "phone", id, describe(phoneLog(d.Phone)))
		}
		if d.UserApp {
			if err := s.store.DeleteToken(ctx, id); err != nil {
				return fmt.Errorf("remove app: %w", err)
			}
			return s.logChange(ctx, a, "token_delete", "token", id, changeDetails(map[string]any{"type": d.Token.Type, "serial": d.Token.Serial}))
		}
		if err := s.store.DetachToken(ctx, a.ID, id); err != nil {
			return fmt.Errorf("remove token: %w", err)
		}
		return s.logChange(ctx, a, "user_disassociate_token", "user", a.ID, describe(map[string]any{"token_id": id}))
	})
}

// SelfAddTOTP saves a standard authenticator app (Google Authenticator,
// Aegis, ...) for the user: a TOTP token (type t6, 30-second steps) with
// the seed the portal generated and the user proved with a code, named
// by the user. lastStep is the step of the code that proved it, so that
// the same code cannot then log in.
func (s *Service) SelfAddTOTP(ctx context.Context, a Actor, name string, seed []byte, lastStep int64) (SelfDevice, error) {
	if err := s.selfCheck(a); err != nil {
		return SelfDevice{}, err
	}
	name, err := checkDeviceName(name)
	if err != nil {
		return SelfDevice{}, err
	}
	if len(seed) < 16 {
		return SelfDevice{}, mfa.E(mfa.Invalid, "the seed is too short")
	}
	step := 30
	t, err := buildToken(NewToken{Type: mfa.TokenT6, Serial: mfa.UserAppSerial(a.Name, name),
		Secret: hex.EncodeToString(seed), TOTPStep: &step})
	if err != nil {
		if me := (*mfa.Error)(nil); errors.As(err, &me) && me.Field == "serial" {
			return SelfDevice{}, mfa.InvalidField(nameField, fmt.Sprintf("Use at most %d characters.", MaxDeviceName))
		}
		return SelfDevice{}, err
	}
	if t.ID, err = mfa.NewID(mfa.PrefixToken, s.rand); err != nil {
		return SelfDevice{}, fmt.Errorf("add app: %w", err)
	}
	t.Created, t.LastStep = s.now(), lastStep
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.CreateToken(ctx, t); err != nil {
			if errors.Is(err, mfa.ErrConflict) {
				return mfa.InvalidField(nameField, "You already have an app with that name. Choose another.")
			}
			return fmt.Errorf("add app: %w", err)
		}
		if err := s.store.AttachToken(ctx, a.ID, t.ID); err != nil {
			return fmt.Errorf("add app: %w", err)
		}
		return s.logChange(ctx, a, "token_create", "token", t.ID,
			changeDetails(map[string]any{"type": t.Type, "serial": t.Serial, "user_id": a.ID, "self_service": true}))
	})
	if err != nil {
		return SelfDevice{}, err
	}
	return SelfDevice{ID: t.ID, Kind: DeviceToken, Name: name, Token: withoutSecrets(t), UserApp: true,
		Capabilities: []mfa.Capability{mfa.CapMobileOTP}}, nil
}

// NewSelfPhone is a phone a user adds for calls and text messages.
type NewSelfPhone struct {
	Number    string // E.164 after NormalizeSelfNumber
	Extension string
	Type      mfa.PhoneType // mobile or landline
	Name      string
}

// NormalizeSelfNumber builds an E.164 number from a country calling code
// ("1", "+44") and a national number, and checks the extension and type.
func NormalizeSelfNumber(country, national, ext string, typ mfa.PhoneType) (NewSelfPhone, error) {
	country = strings.TrimPrefix(strings.TrimSpace(country), "+")
	if country == "" || len(country) > 3 || strings.Trim(country, "0123456789") != "" || country[0] == '0' {
		return NewSelfPhone{}, mfa.InvalidField("country", "Enter the country calling code, such as 1 or 44.")
	}
	national = strings.TrimSpace(national)
	if strings.HasPrefix(national, "+") {
		return NewSelfPhone{}, mfa.InvalidField("number", "Enter the number without the country code.")
	}
	national = strings.TrimLeft(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, national), "0")
	n, err := NormalizeNumber("number", "+"+country+national)
	if err != nil {
		return NewSelfPhone{}, mfa.InvalidField("number", "Enter the phone number: digits only, such as 555 555 0100.")
	}
	ext = strings.TrimSpace(ext)
	if len(ext) > 10 || strings.Trim(ext, "0123456789*#") != "" {
		return NewSelfPhone{}, mfa.InvalidField("extension", "An extension is up to 10 digits (and * or #).")
	}
	if typ != mfa.PhoneMobile && typ != mfa.PhoneLandline {
		return NewSelfPhone{}, mfa.InvalidField("type", "Choose mobile or landline.")
	}
	if typ == mfa.PhoneMobile && ext != "" {
		return NewSelfPhone{}, mfa.InvalidField("extension", "A mobile phone has no extension.")
	}
	return NewSelfPhone{Number: n, Extension: ext, Type: typ}, nil
}

// SelfSendPhoneCheck sends the check code of a phone the user is adding:
// a text message to a mobile, a call to a landline. Nothing is stored but
// the telephony log (and its caps apply).
func (s *Service) SelfSendPhoneCheck(ctx context.Context, a Actor, p NewSelfPhone, code string) error {
	if err := s.selfCheck(a); err != nil {
		return err
	}
	if err := s.needNotifier(); err != nil {
		return err
	}
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return fmt.Errorf("phone check: %w", err)
	}
	if err := mfa.HitTelephonyCaps(ctx, s.store, st, a.ID, s.now()); err != nil {
		return err
	}
	spaced := strings.Join(strings.Split(code, ""), " ")
	m := mfa.Message{Channel: mfa.ChannelSMS, To: p.Number, UserID: a.ID, Context: ctxEnrollment,
		Body: mfa.Passcode("Your twostep check code is " + code + ". Enter it on the page where you are adding this phone.")}
	if p.Type == mfa.PhoneLandline {
		m.Channel, m.Extension = mfa.ChannelVoice, p.Extension
		m.Body = mfa.Passcode("This is twostep. Your check code is " + spaced + ". Again: " + spaced + ".")
	}
	rcpt, err := mfa.Deliver(ctx, s.notifier, m)
	if err != nil {
		return mfa.Wrap(mfa.Unavailable, "We could not reach that number. Check it and try again in a minute.", err)
	}
	if _, err := s.store.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: s.now(), Type: string(m.Channel),
		Context: ctxEnrollment, Phone: p.Number, UserID: a.ID, Credits: rcpt.Credits(m.Channel), CarrierID: rcpt.CarrierID}); err != nil {
		return fmt.Errorf("telephony log: %w", err)
	}
	return nil
}

// SelfAddPhone saves a phone the user proved with its check code and
// associates it with them.
func (s *Service) SelfAddPhone(ctx context.Context, a Actor, np NewSelfPhone) (SelfDevice, error) {
	if err := s.selfCheck(a); err != nil {
		return SelfDevice{}, err
	}
	name := np.Name
	if name == "" {
		name = "Landline"
		if np.Type == mfa.PhoneMobile {
			name = "Mobile"
		}
	}
	name, err := checkDeviceName(name)
	if err != nil {
		return SelfDevice{}, err
	}
	p := mfa.Phone{Number: np.Number, Extension: np.Extension, Type: np.Type, Name: name, Platform: "unknown", Created: s.now()}
	if p.ID, err = mfa.NewID(mfa.PrefixPhone, s.rand); err != nil {
		return SelfDevice{}, fmt.Errorf("add phone: %w", err)
	}
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		// The same number twice (a check code posted twice at once, or a
		// phone added again) is refused: one device per number. The lock
		// makes a concurrent add of the same number wait and then see
		// this one.
		if err := s.store.LockUser(ctx, a.ID); err != nil {
			return fmt.Errorf("add phone: %w", err)
		}
		have, err := s.store.UserPhones(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("add phone: %w", err)
		}
		for _, o := range have {
			if o.Number == p.Number && o.Extension == p.Extension {
				return mfa.InvalidField("number", "You already have this phone number.")
			}
		}
		if err := s.store.CreatePhone(ctx, p); err != nil {
			return fmt.Errorf("add phone: %w", err)
		}
		if err := s.store.AttachPhone(ctx, a.ID, p.ID); err != nil {
			return fmt.Errorf("add phone: %w", err)
		}
		d := phoneLog(p)
		d["user_id"], d["self_service"] = a.ID, true
		return s.logChange(ctx, a, "phone_create", "phone", p.ID, describe(d))
	})
	if err != nil {
		return SelfDevice{}, err
	}
	return SelfDevice{ID: p.ID, Kind: DevicePhone, Name: p.Name, Phone: p, Capabilities: p.Capabilities()}, nil
}

// SelfActivation starts activating the twostep app for the user: on a new
// device when phoneID is "" (redeeming the code creates the phone), or
// again on one of their phones (reactivation: once the new install
// activates, the old one stops working). validSecs bounds the code's life.
func (s *Service) SelfActivation(ctx context.Context, a Actor, phoneID string, validSecs int) (ActivationLink, string, error) {
	if err := s.selfCheck(a); err != nil {
		return ActivationLink{}, "", err
	}
	if err := s.needHost(); err != nil {
		return ActivationLink{}, "", err
	}
	if phoneID != "" {
		d, err := s.SelfDevice(ctx, a, phoneID)
		if err != nil {
			return ActivationLink{}, "", err
		}
		if d.Kind != DevicePhone || d.Phone.Type == mfa.PhoneLandline {
			return ActivationLink{}, "", mfa.E(mfa.Invalid, "Only a smartphone or tablet can run the twostep app.")
		}
	}
	var link ActivationLink
	var act mfa.Activation
	err := s.store.Atomic(ctx, func(ctx context.Context) error {
		var err error
		if link, act, err = s.newActivation(ctx, a.ID, phoneID, validSecs, true); err != nil {
			return err
		}
		return s.logChange(ctx, a, "phone_activation_url", "user", a.ID, describe(activationLog(act, validSecs)))
	})
	if err != nil {
		return ActivationLink{}, "", err
	}
	return link, act.ID, nil
}

// SelfActivationDone reports whether the user's activation id has been
// redeemed by the app, and the phone it activated.
func (s *Service) SelfActivationDone(ctx context.Context, a Actor, id string) (bool, string, error) {
	if err := s.selfCheck(a); err != nil {
		return false, "", err
	}
	act, err := s.store.GetActivation(ctx, id)
	if errors.Is(err, mfa.ErrNotFound) || (err == nil && act.UserID != a.ID) {
		return false, "", mfa.E(mfa.NotFound, "This activation has ended. Start again.")
	}
	if err != nil {
		return false, "", fmt.Errorf("activation: %w", err)
	}
	return !act.Redeemed.IsZero(), act.PhoneID, nil
}

// SelfSendSMSPasscodes texts a new batch of SMS passcodes to one of the
// user's phones; the new batch voids the old one.
func (s *Service) SelfSendSMSPasscodes(ctx context.Context, a Actor, phoneID string) error {
	d, err := s.SelfDevice(ctx, a, phoneID)
	if err != nil {
		return err
	}
	if d.Kind != DevicePhone {
		return errNoSuchDevice
	}
	return s.sendSMSPasscodes(ctx, a, phoneID)
}

// SelfAuthLog returns the user's own most recent authentication records,
// newest first, at most limit.
func (s *Service) SelfAuthLog(ctx context.Context, a Actor, limit int) ([]mfa.AuthLogEntry, error) {
	if err := s.selfCheck(a); err != nil {
		return nil, err
	}
	logs, _, err := s.store.ListAuthLog(ctx, mfa.AuthLogFilter{UserIDs: []string{a.ID}, Descending: true, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("self auth log: %w", err)
	}
	return logs, nil
}

// withSourceIP adds "source_ip" to a JSON object description.
func withSourceIP(description, ip string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(description), &m); err != nil || m == nil {
		m = map[string]any{}
		if description != "" {
			m["details"] = description
		}
	}
	m["source_ip"] = ip
	return describe(m)
}

// selfMethods are the methods a device offers as a default, in the
// prompt's order: push, call, passcode, text message.
func selfMethods(d SelfDevice) []mfa.Factor {
	if d.Kind == DeviceToken {
		return []mfa.Factor{mfa.FactorPasscode}
	}
	var out []mfa.Factor
	for _, m := range []struct {
		f mfa.Factor
		c mfa.Capability
	}{{mfa.FactorPush, mfa.CapPush}, {mfa.FactorPhone, mfa.CapPhone}, {mfa.FactorPasscode, mfa.CapMobileOTP}, {mfa.FactorSMS, mfa.CapSMS}} {
		if d.Phone.Can(m.c) {
			out = append(out, m.f)
		}
	}
	return out
}

// SelfMethods lists the methods device d can be the default for.
func SelfMethods(d SelfDevice) []mfa.Factor { return selfMethods(d) }

// SelfSetDefault sets the user's default device and method, which the
// prompt then preselects (and Preauth lists first). An empty deviceID
// clears them; the method must be one the device can do, or
// mfa.DefaultMethodKey with one of the user's security keys.
func (s *Service) SelfSetDefault(ctx context.Context, a Actor, deviceID string, method mfa.Factor) error {
	if err := s.selfCheck(a); err != nil {
		return err
	}
	switch {
	case deviceID != "" && method == mfa.DefaultMethodKey:
		// One of the user's own security keys, not marked as cloned.
		k, err := s.store.GetWebAuthnCredential(ctx, deviceID)
		if errors.Is(err, mfa.ErrNotFound) || err == nil && (k.UserID != a.ID || k.Cloned) {
			return errNoSuchDevice
		}
		if err != nil {
			return fmt.Errorf("get security key: %w", err)
		}
	case deviceID != "":
		d, err := s.SelfDevice(ctx, a, deviceID)
		if err != nil {
			return err
		}
		ok := false
		for _, m := range selfMethods(d) {
			ok = ok || m == method
		}
		if !ok {
			return mfa.InvalidField("default", "That device cannot do that. Choose one of the ways listed.")
		}
	default:
		method = ""
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.SetUserDefaults(ctx, a.ID, deviceID, string(method)); err != nil {
			return fmt.Errorf("set default: %w", err)
		}
		return s.logChange(ctx, a, "user_update", "user", a.ID,
			describe(map[string]any{"default_device": deviceID, "default_method": method}))
	})
}
