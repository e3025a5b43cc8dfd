package authapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// The login menu duo_unix prints before reading one line: a passcode, or
// the number of an option. The server writes the whole text, and a
// factors map that turns the number typed into a factor. The legacy
// /rest/v1/preauth answers them as prompt and factors (every duo_unix
// release up to 2.1); /auth/v2/preauth with text_prompt=1 as
// prompt{text, factors} (duo_unix 2.2+). Both use loginMenu.
//
//	Duo two-factor login for alice
//
//	Enter a passcode or select one of the following options:
//
//	 1. Push to Alice's phone (XXX-XXX-0100)
//	 2. Phone call to Alice's phone (XXX-XXX-0100)
//	 3. SMS passcodes to Alice's phone (XXX-XXX-0100) (next code starts with: 2)
//
//	Passcode or option (1-3):
//
// Each device of preauth's list contributes one line per capability, in
// Duo's order push, phone call, SMS. A factor name ends in the device's
// position in that list, counting from 1 (phones come first): push1,
// phone1, sms1, push2, ... as the authflow engine reads "sms2" typed in
// the passcode box. Hardware tokens offer no option; their codes are typed.
//
// factors.default is what duo_unix sends without asking (autopush, no
// TTY, SSH_ORIGINAL_COMMAND): push to the first device that can push,
// else a call to the first that can take one, else "passcode" (no
// out-of-band factor; the engine refuses it with a message).

// menuDefaultPasscode is factors.default when no device offers push or
// phone.
const menuDefaultPasscode = string(mfa.FactorPasscode)

// verifiedPushFactor names a push option when Verified Push applies.
var verifiedPushFactor = mustMethod(mfa.FactorPush).VerifiedKeyword

// mustMethod is the factor table's row of f (authflow.AllMethods).
func mustMethod(f mfa.Factor) authflow.Method {
	m, ok := authflow.MethodOf(f)
	if !ok {
		panic("authapi: no method for factor " + string(f))
	}
	return m
}

// menuTitle starts the menu, followed by the username: Duo's own heading,
// so that duo_unix users (and the login_duo and pam_duo end-to-end tests,
// which wait for it) see what they see with Duo.
const menuTitle = "Duo two-factor login for "

// loginMenu is a login prompt's text and factors.
type loginMenu struct {
	Text    string
	Factors map[string]string
}

// newLoginMenu builds the menu for username's devices (preauth's list).
// With verifiedPush the push options are named verified_pushN, which
// duo_unix 2.2 sends back with preauth's txid (DUO-WIRE 2.1).
func newLoginMenu(username string, devices []authflow.Device, verifiedPush bool) loginMenu {
	factors := map[string]string{}
	var lines strings.Builder
	n := 0
	pushDefault, phoneDefault := "", ""
	for i, d := range devices {
		if d.Type != authflow.DevicePhone {
			continue
		}
		idx := strconv.Itoa(i + 1)
		name := menuDeviceName(d)
		// One option per method of the factor table the device can do
		// that a menu offers (passcodes are typed, not chosen).
		for _, m := range authflow.Methods(d) {
			if m.MenuLabel == "" {
				continue
			}
			n++
			factor := m.Keyword + idx
			if m.VerifiedKeyword != "" && verifiedPush {
				factor = m.VerifiedKeyword + idx
			}
			factors[strconv.Itoa(n)] = factor
			fmt.Fprintf(&lines, " %d. "+m.MenuLabel, n, name)
			if m.Factor == mfa.FactorSMS && d.SMSNextCode != "" {
				fmt.Fprintf(&lines, " (next code starts with: %s)", clean(d.SMSNextCode))
			}
			lines.WriteString("\n")
			switch {
			case m.Factor == mfa.FactorPush && pushDefault == "":
				pushDefault = factor
			case m.Factor == mfa.FactorPhone && phoneDefault == "":
				phoneDefault = factor
			}
		}
	}
	switch {
	case pushDefault != "":
		factors["default"] = pushDefault
	case phoneDefault != "":
		factors["default"] = phoneDefault
	default:
		factors["default"] = menuDefaultPasscode
	}

	head := menuTitle + clean(username) + "\n\n"
	if n == 0 {
		return loginMenu{Factors: factors, Text: head +
			"Enter a passcode from your authenticator app or hardware token, or a bypass code.\n\n" +
			"Passcode: "}
	}
	return loginMenu{Factors: factors, Text: head +
		"Enter a passcode or select one of the following options:\n\n" + lines.String() + "\n" +
		"Passcode or option (1-" + strconv.Itoa(n) + "): "}
}

// menuDeviceName is how an option names its device: the display name
// ("Alice's phone (XXX-XXX-0100)", "XXX-XXX-0100", or the platform of a
// tablet without a name), else the masked number, else the name.
func menuDeviceName(d authflow.Device) string {
	for _, s := range []string{d.DisplayName, d.Number, d.Name} {
		if s = strings.TrimSpace(clean(s)); s != "" {
			return s
		}
	}
	return "your device"
}

// enrollText is what duo_unix shows a user who must enroll first: the
// status message and, when there is one, the enrollment portal's address,
// on one line (duo_unix also logs it).
func enrollText(statusMsg, portalURL string) string {
	if portalURL == "" {
		return statusMsg
	}
	return statusMsg + ": " + clean(portalURL)
}

// clean drops control characters from text shown in the prompt.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
