package authflow

import (
	"slices"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// The factor table: every way a person can do the second step, with every
// word each front end uses for it, in one place. The engine reads it to
// pick a capable device, to read keywords typed in the passcode box and to
// write the auth log; the Auth API's text prompt and the legacy menus
// print its labels; the browser prompt renders one button per method of
// each device (Methods). It lives here rather than in mfa because its log
// words, messages and keyword rules are the engine's vocabulary, and every
// front end imports authflow already.

// Method is one way of doing the second step.
type Method struct {
	// Factor is the Auth API's factor name.
	Factor mfa.Factor
	// Capability is what a phone needs for the method; empty for
	// passcode, which every device that makes passcodes offers (see
	// Methods).
	Capability mfa.Capability
	// Keyword is what a person types in the passcode box for it, followed
	// by a device number counted from 1 in preauth's list ("push2",
	// "phone1", "sms2"), as the text prompt's factors name options; empty
	// for passcode.
	Keyword string
	// VerifiedKeyword names a push option when Verified Push applies
	// ("verified_push1"): the text prompt's menu choice that asks for the
	// code. Empty but for push.
	VerifiedKeyword string
	// MenuLabel is the text prompt's option line, %s being the device's
	// name: "Push to %s". Empty for passcode (typed, not chosen).
	MenuLabel string
	// LogFactors are the auth log factor words a decision of the method
	// is recorded with, the usual one first.
	LogFactors []string
	// Async: the method starts a transaction that the user answers out
	// of band and the client polls (push, phone). The others are decided
	// at once (an SMS request answers deny/sent).
	Async bool
	// PendingStatus and PendingMsg are what a poll of a waiting
	// transaction answers (async methods only).
	PendingStatus string
	PendingMsg    string
}

// LogFactor is the method's usual auth log factor word.
func (m Method) LogFactor() string {
	if len(m.LogFactors) == 0 {
		return ""
	}
	return m.LogFactors[0]
}

// methods is the table, in the order menus list a device's options
// (Duo's: push, phone call, SMS).
var methods = [...]Method{
	{
		Factor: mfa.FactorPush, Capability: mfa.CapPush, Keyword: "push", VerifiedKeyword: "verified_push",
		MenuLabel: "Push to %s", LogFactors: []string{LogFactorPush}, Async: true,
		PendingStatus: StatusPushed, PendingMsg: MsgPushed,
	},
	{
		Factor: mfa.FactorPhone, Capability: mfa.CapPhone, Keyword: "phone",
		MenuLabel: "Phone call to %s", LogFactors: []string{LogFactorPhone}, Async: true,
		PendingStatus: StatusCalling, PendingMsg: MsgCalling,
	},
	{
		Factor: mfa.FactorSMS, Capability: mfa.CapSMS, Keyword: "sms",
		MenuLabel: "SMS passcodes to %s", LogFactors: []string{LogFactorSMSRefresh},
	},
	{
		Factor: mfa.FactorPasscode,
		LogFactors: []string{LogFactorPasscode, LogFactorMobilePasscode, LogFactorHardwareToken, LogFactorYubiKey,
			LogFactorSMS, LogFactorBypassCode},
	},
}

// AllMethods returns the factor table, in menu order.
func AllMethods() []Method { return slices.Clone(methods[:]) }

// MethodOf returns the method of factor f (push, phone, sms, passcode);
// auto and unknown factors have none.
func MethodOf(f mfa.Factor) (Method, bool) {
	for _, m := range methods {
		if m.Factor == f {
			return m, true
		}
	}
	return Method{}, false
}

// MethodByKeyword returns the method a keyword names ("push", "phone",
// "sms", any case, without its device number).
func MethodByKeyword(kw string) (Method, bool) {
	for _, m := range methods {
		if m.Keyword != "" && strings.EqualFold(m.Keyword, kw) {
			return m, true
		}
	}
	return Method{}, false
}

// Methods returns what device (one of preauth's list) can do, in menu
// order: push, phone and sms when a phone has their capability, and
// passcode for a token and for a phone that makes or receives passcodes
// (the twostep app, SMS). The browser prompt shows one button per method.
func Methods(d Device) []Method {
	var out []Method
	for _, m := range methods {
		switch {
		case m.Capability != "":
			if d.Type == DevicePhone && slices.Contains(d.Capabilities, m.Capability) {
				out = append(out, m)
			}
		case d.Type == DeviceToken || slices.Contains(d.Capabilities, mfa.CapMobileOTP) ||
			slices.Contains(d.Capabilities, mfa.CapSMS):
			out = append(out, m)
		}
	}
	return out
}

// can reports whether phone p can do the method.
func (m Method) can(p mfa.Phone) bool { return m.Capability != "" && p.Can(m.Capability) }

// method returns the table row of factor f, which must be one (an
// internal caller's bug otherwise: the zero Method).
func method(f mfa.Factor) Method {
	m, _ := MethodOf(f)
	return m
}
