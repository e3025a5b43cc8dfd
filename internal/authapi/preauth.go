package authapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

// deviceJSON is one entry of preauth's devices (DUO-WIRE.md 2.1). Phones
// always carry number ("" for a tablet); hardware tokens are Duo's
// {"device":"DH…","type":"token","name":"<serial>"} with display_name the
// serial and capabilities [] (a token answers only passcodes), no number.
type deviceJSON struct {
	Device       string   `json:"device"`
	Type         string   `json:"type"`
	Number       *string  `json:"number,omitempty"`
	Name         string   `json:"name"`
	DisplayName  string   `json:"display_name"`
	Capabilities []string `json:"capabilities"`
	SMSNextCode  string   `json:"sms_nextcode,omitempty"`
}

type preauthResponse struct {
	Result          string       `json:"result"`
	StatusMsg       string       `json:"status_msg"`
	Devices         []deviceJSON `json:"devices,omitempty"`
	EnrollPortalURL *string      `json:"enroll_portal_url,omitempty"`
	Prompt          *promptJSON  `json:"prompt,omitempty"`
	// TxID is offered with Verified Push (client_supports_verified_push=1
	// and the verified_push setting on): duo_unix 2.2 passes it to /auth.
	TxID string `json:"txid,omitempty"`
}

// promptJSON is the login menu asked for with text_prompt=1 (prompt.go).
// duo_unix 2.2+ needs both members with result auth (a missing one is a
// server error to it), and prints text instead of status_msg with result
// enroll, where factors is absent.
type promptJSON struct {
	Text    string            `json:"text"`
	Factors map[string]string `json:"factors,omitempty"`
}

// preauth answers POST /auth/v2/preauth: username or user_id; ipaddr and
// hostname optional; trusted_device_token (a remembered device's token
// from an earlier allow: answers allow while valid);
// client_supports_verified_push=1, when Verified Push is on and a device
// can take pushes, adds a txid and makes the menu's push options
// verified_pushN (duo_unix 2.2 with verified_push=yes).
// text_prompt=1 (undocumented, sent by duo_unix 2.2+) adds prompt: the
// login menu with result auth, the enrollment text with result enroll.
func (h *Handler) preauth(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	verified, err := boolParam(c, "client_supports_verified_push")
	if err != nil {
		return err
	}
	res, err := h.flow.Preauth(r.Context(), authflow.PreauthRequest{
		Integration: c.Integration,
		Who:         authflow.Who{Username: c.Param("username"), UserID: c.Param("user_id")},
		IP:          c.Param("ipaddr"),
		Hostname:    c.Param("hostname"),

		TrustedDeviceToken: c.Param("trusted_device_token"),
		VerifiedPush:       verified,
	})
	if err != nil {
		return err
	}
	textPrompt := c.Param("text_prompt") == "1"
	out := preauthResponse{Result: res.Result, StatusMsg: res.StatusMsg}
	switch res.Result {
	case authflow.ResultAuth:
		out.Devices = make([]deviceJSON, 0, len(res.Devices))
		for _, d := range res.Devices {
			caps := make([]string, 0, len(d.Capabilities))
			for _, c := range d.Capabilities {
				caps = append(caps, string(c))
			}
			dev := deviceJSON{Device: d.ID, Type: d.Type, Name: d.Name, DisplayName: d.DisplayName,
				Capabilities: caps, SMSNextCode: d.SMSNextCode}
			if d.Type != authflow.DeviceToken {
				number := d.Number
				dev.Number = &number
			}
			out.Devices = append(out.Devices, dev)
		}
		if textPrompt {
			who := c.Param("username") // duo_unix names users by username
			if who == "" {
				who = c.Param("user_id")
			}
			m := newLoginMenu(who, res.Devices, res.VerifiedPush)
			out.Prompt = &promptJSON{Text: m.Text, Factors: m.Factors}
		}
		// With Verified Push: duo_unix 2.2 with verified_push=yes sends
		// this txid back to /auth with a verified_push option; the push
		// then gets its own txid (see auth).
		out.TxID = res.TxID
	case authflow.ResultEnroll:
		u := res.EnrollPortalURL
		out.EnrollPortalURL = &u
		if textPrompt {
			out.Prompt = &promptJSON{Text: enrollText(res.StatusMsg, u)}
		}
	}
	duoproto.WriteOK(w, out)
	return nil
}
