package authapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

type authResponse struct {
	Result             string `json:"result"`
	Status             string `json:"status"`
	StatusMsg          string `json:"status_msg"`
	TrustedDeviceToken string `json:"trusted_device_token,omitempty"`
}

type asyncResponse struct {
	TxID string `json:"txid"`
	// VerificationCode is the Verified Push code the login screen shows
	// (a twostep extension; only when Verified Push applies).
	VerificationCode string `json:"verification_code,omitempty"`
}

type statusResponse struct {
	Result             string `json:"result"`
	Status             string `json:"status"`
	StatusMsg          string `json:"status_msg"`
	TrustedDeviceToken string `json:"trusted_device_token,omitempty"`
	AuthDelayed        bool   `json:"auth_delayed"`
	VerificationCode   string `json:"verification_code,omitempty"`
}

// auth answers POST /auth/v2/auth (DUO-WIRE 2.2): factor passcode, sms,
// push, phone or auto, and prompt (duo_unix 2.2+: prompt= carries the
// menu choice or a typed passcode). Push, phone and auto with async=1
// answer {txid} at once; otherwise the answer waits for the outcome.
func (h *Handler) auth(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	async, err := boolParam(c, "async")
	if err != nil {
		return err
	}
	verified, err := boolParam(c, "client_supports_verified_push")
	if err != nil {
		return err
	}
	factor := mfa.Factor(c.Param("factor"))
	passcode := c.Param("passcode")
	if factor == factorPrompt {
		factor, passcode = mfa.FactorPasscode, strings.TrimSpace(c.Param("prompt"))
		if passcode == "" {
			return duoproto.BadParam("prompt: required with factor prompt")
		}
		// verified_pushN (a menu choice when preauth offered Verified
		// Push) is pushN asking for the code. duo_unix sends preauth's
		// txid with it; the push gets a txid of its own, which the async
		// answer returns and auth_status is polled with.
		if n, ok := cutPrefixFold(passcode, verifiedPushFactor); ok && allDigits(n) {
			passcode, verified = mustMethod(mfa.FactorPush).Keyword+n, true
		}
	}
	if txid := c.Param("txid"); len(txid) > maxTxIDParam {
		return duoproto.BadParam(fmt.Sprintf("txid: longer than %d characters", maxTxIDParam))
	}
	res, err := h.flow.Auth(r.Context(), authflow.AuthRequest{
		Integration:     c.Integration,
		Who:             authflow.Who{Username: c.Param("username"), UserID: c.Param("user_id")},
		Factor:          factor,
		Passcode:        mfa.Passcode(passcode),
		Device:          c.Param("device"),
		IP:              c.Param("ipaddr"),
		Hostname:        c.Param("hostname"),
		Async:           async,
		PushType:        c.Param("type"),
		DisplayUsername: c.Param("display_username"),
		PushInfo:        c.Param("pushinfo"),
		VerifiedPush:    verified,
		Claim:           api.ClaimOf(r.Context()),
	})
	if err != nil {
		return err
	}
	if async {
		// authflow keeps an answer decided at once (a passcode, an SMS
		// request, a deny) for auth_status and returns its txid too.
		duoproto.WriteOK(w, asyncResponse{TxID: res.TxID, VerificationCode: res.VerificationCode})
		return nil
	}
	duoproto.WriteOK(w, authResponse{Result: res.Result, Status: res.Status, StatusMsg: res.StatusMsg,
		TrustedDeviceToken: res.TrustedDeviceToken})
	return nil
}

// authStatus answers GET /auth/v2/auth_status (DUO-WIRE 2.3): a long poll
// that returns when the transaction ends or after about 25 s; the first
// poll of a new push or call answers at once.
func (h *Handler) authStatus(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	st, err := h.flow.AuthStatus(r.Context(), c.Integration, c.Param("txid"), authflow.StatusPollWait)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, statusResponse{Result: st.Result, Status: st.Status, StatusMsg: st.StatusMsg,
		TrustedDeviceToken: st.TrustedDeviceToken, VerificationCode: st.VerificationCode})
	return nil
}

// factorPrompt is duo_unix 2.2's factor: prompt= holds the menu choice or
// a typed passcode.
const factorPrompt = "prompt"

// maxTxIDParam bounds the txid /auth accepts and ignores (duo_unix 2.2
// sends preauth's with a Verified Push choice).
const maxTxIDParam = 64

// cutPrefixFold is strings.CutPrefix ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// allDigits reports whether s is empty or only ASCII digits.
func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// boolParam reads "1"/"0" (Duo's booleans; "true"/"false" accepted).
func boolParam(c *api.Caller, name string) (bool, error) {
	switch strings.ToLower(c.Param(name)) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, duoproto.BadParam(name + ": must be 1 or 0")
}
