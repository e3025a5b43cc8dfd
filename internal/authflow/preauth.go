package authflow

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Preauth results (Duo's words).
const (
	ResultAuth   = "auth"
	ResultAllow  = "allow"
	ResultDeny   = "deny"
	ResultEnroll = "enroll"
)

// Device types in a preauth answer.
const (
	DevicePhone = "phone"
	DeviceToken = "token"
)

// PreauthRequest asks what a user may do to log in to an application.
type PreauthRequest struct {
	Integration mfa.Integration
	Who
	IP       string
	Hostname string
	// TrustedDeviceToken is a remembered device's token from an earlier
	// allow; a valid one answers allow.
	TrustedDeviceToken string
	// VerifiedPush: the client can show a Verified Push code
	// (client_supports_verified_push).
	VerifiedPush bool
}

// Device is one of the user's devices as preauth lists it.
type Device struct {
	ID           string // phone id (DP...) or token id (DH...)
	Type         string // DevicePhone or DeviceToken
	Number       string // masked: "XXX-XXX-0100"; empty for tokens and tablets
	Name         string // the phone's name, or the token's serial
	DisplayName  string // "Name (XXX-XXX-0100)"
	Capabilities []mfa.Capability
	// SMSNextCode is the first digit of the next unused SMS passcode of
	// the current batch; empty when the phone has no usable batch.
	SMSNextCode string
	// Default marks the device the user chose as their default at the
	// portal (Preauth then lists it first, so "auto" picks it), with the
	// method they chose for it (a Factor), which the prompt preselects.
	Default       bool
	DefaultMethod string
	// UserApp marks an authenticator app the user added at the portal
	// (a TOTP token; Name is the name they gave it).
	UserApp bool
}

// PreauthResult is Duo's preauth answer.
type PreauthResult struct {
	Result    string // ResultAuth, ResultAllow, ResultDeny or ResultEnroll
	StatusMsg string
	Devices   []Device // with ResultAuth
	// EnrollPortalURL (with ResultEnroll) is where an unenrolled user
	// adds a first device: the self-service portal (WithEnrollPortal).
	// Unknown users get it too, so the answer does not tell them apart.
	EnrollPortalURL string
	// VerifiedPush (with ResultAuth): a push to this user will ask for a
	// Verified Push code, because the client said it can show one and
	// Settings.VerifiedPush is on, and a device can take pushes.
	VerifiedPush bool
	// TxID (with VerifiedPush) is a fresh txid for the client to send back
	// with its Verified Push choice (duo_unix 2.2 with verified_push=yes).
	// Nothing is stored under it: the push gets a txid of its own.
	TxID string
	// LogTxID is the txid of the authentication-log record of an allow
	// for a remembered device (the one preauth answer that is logged);
	// LogFactor is its factor word.
	LogTxID   string
	LogFactor string
}

// Preauth tells whether the user must authenticate and with which devices,
// is allowed or denied outright, or must enroll first. It changes nothing
// except lazily ending an expired lockout, and writes no auth log.
func (s *Service) Preauth(ctx context.Context, req PreauthRequest) (PreauthResult, error) {
	if err := req.Who.check(); err != nil {
		return PreauthResult{}, err
	}
	a, err := s.load(ctx, req.Who, mfa.AccountQuery{SMSAt: s.now()})
	if err != nil {
		return PreauthResult{}, fmt.Errorf("preauth: %w", err)
	}
	res := s.preauth(ctx, req, a)
	if res.Result == ResultAuth && req.TrustedDeviceToken != "" {
		ok, err := s.remembered(ctx, req.Integration, a.user.ID, req.TrustedDeviceToken)
		if err != nil {
			return PreauthResult{}, fmt.Errorf("preauth: %w", err)
		}
		if ok {
			d := &decision{s: s, req: AuthRequest{Integration: req.Integration, Who: req.Who, IP: req.IP, Hostname: req.Hostname},
				a: a, factor: LogFactorRemembered}
			if _, err := d.write(ctx, mfa.AuthWrite{Success: true}, mfa.ResultSuccess, ReasonRememberedDev); err != nil {
				return PreauthResult{}, fmt.Errorf("preauth: %w", err)
			}
			return PreauthResult{Result: ResultAllow, StatusMsg: MsgRemembered, LogTxID: d.logTx, LogFactor: d.factor}, nil
		}
	}
	if res.Result == ResultAuth {
		if res.Devices, err = s.devices(ctx, a); err != nil {
			return PreauthResult{}, fmt.Errorf("preauth: %w", err)
		}
		if def := a.user.DefaultDevice; def != "" {
			for i, d := range res.Devices {
				if d.ID == def {
					copy(res.Devices[1:i+1], res.Devices[:i])
					d.Default, d.DefaultMethod = true, a.user.DefaultMethod
					res.Devices[0] = d
					break
				}
			}
		}
		if req.VerifiedPush && a.settings.VerifiedPush {
			for _, p := range a.phones {
				res.VerifiedPush = res.VerifiedPush || method(mfa.FactorPush).can(p)
			}
		}
		if res.VerifiedPush {
			if res.TxID, err = s.newTxID(); err != nil {
				return PreauthResult{}, fmt.Errorf("preauth: %w", err)
			}
		}
	}
	s.log.DebugContext(ctx, "preauth", "user_id", a.user.ID, "integration", req.Integration.IKey,
		"result", res.Result, "remote_ip", req.IP)
	return res, nil
}

func (s *Service) preauth(ctx context.Context, req PreauthRequest, a account) PreauthResult {
	if !a.permitted(req.Integration) {
		return PreauthResult{Result: ResultDeny, StatusMsg: MsgNotPermitted}
	}
	if a.known {
		switch a.status() {
		case mfa.StatusDisabled:
			return PreauthResult{Result: ResultDeny, StatusMsg: MsgDisabled}
		case mfa.StatusLockedOut:
			return PreauthResult{Result: ResultDeny, StatusMsg: MsgLockedOut}
		case mfa.StatusBypass:
			return PreauthResult{Result: ResultAllow, StatusMsg: MsgBypassUser}
		}
	}
	if !a.known || !a.enrolled() {
		switch req.Integration.EnrollPolicy {
		case mfa.EnrollPolicyAllow:
			return PreauthResult{Result: ResultAllow, StatusMsg: MsgAllowUnknown}
		case mfa.EnrollPolicyDeny:
			return PreauthResult{Result: ResultDeny, StatusMsg: MsgDenyUnknown}
		default:
			return PreauthResult{Result: ResultEnroll, StatusMsg: MsgEnroll, EnrollPortalURL: s.enrollPortal}
		}
	}
	return PreauthResult{Result: ResultAuth, StatusMsg: "Account is active"}
}

func (s *Service) devices(ctx context.Context, a account) ([]Device, error) {
	devs := make([]Device, 0, len(a.phones)+len(a.tokens))
	for _, p := range a.phones {
		d := Device{ID: p.ID, Type: DevicePhone, Number: MaskNumber(p.Number), Name: p.Name,
			Capabilities: p.Capabilities()}
		d.DisplayName = displayName(d.Name, d.Number, p.Platform)
		if next, ok := a.smsNext[p.ID]; ok && method(mfa.FactorSMS).can(p) {
			d.SMSNextCode = strconv.Itoa((next + 1) % 10)
		}
		devs = append(devs, d)
	}
	for _, t := range a.tokens {
		d := Device{ID: t.ID, Type: DeviceToken, Name: t.Serial, DisplayName: t.Serial, Capabilities: []mfa.Capability{}}
		if name, ok := mfa.UserAppName(a.user.Username, t); ok {
			d.Name, d.DisplayName, d.UserApp = name, name, true
		}
		devs = append(devs, d)
	}
	return devs, nil
}

// MaskNumber hides all but the last four digits of a phone number, as Duo
// shows it: "+15555550100" becomes "XXX-XXX-0100". Empty stays empty.
func MaskNumber(number string) string {
	var digits []byte
	for i := 0; i < len(number); i++ {
		if c := number[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if len(digits) == 0 {
		return ""
	}
	if len(digits) > 4 {
		digits = digits[len(digits)-4:]
	}
	return "XXX-XXX-" + string(digits)
}

func displayName(name, number, platform string) string {
	switch {
	case name != "" && number != "":
		return name + " (" + number + ")"
	case name != "":
		return name
	case number != "":
		return number
	}
	return platform
}
