package deviceapi

import (
	"net/http"
	"strings"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

type activationResponse struct {
	PKey         string `json:"pkey"`
	AKey         string `json:"akey"`
	HOTPSecret   string `json:"hotp_secret"`
	HOTPCounter  uint64 `json:"hotp_counter"`
	UseTOTP      bool   `json:"use_totp"`
	CustomerName string `json:"customer_name"`
	CustomerLogo string `json:"customer_logo"`
	Username     string `json:"username"`
	UserID       string `json:"user_id"`
	APIHost      string `json:"api_host"`
}

// activate serves POST /push/v2/activation/{code} (unsigned: the code is
// the credential). The code is burnt by the first valid request.
func (h *Handler) activate(w http.ResponseWriter, r *http.Request) error {
	params, err := requestParams(r)
	if err != nil {
		return err
	}
	if pk := params.Get("pkpush"); pk != "rsa-sha512" {
		if pk == "" {
			return duoproto.BadParam("pkpush: required (rsa-sha512)")
		}
		return duoproto.BadParam("pkpush: only rsa-sha512 is supported")
	}
	pub := params.Get("pubkey")
	if strings.TrimSpace(pub) == "" {
		return duoproto.BadParam("pubkey: required")
	}
	if _, err := ParsePublicKey(pub); err != nil {
		return duoproto.BadParam("pubkey: " + err.Error())
	}
	act, err := h.flow.Activate(r.Context(), r.PathValue("code"), authflow.DeviceInfo{
		PublicKey:    strings.TrimSpace(pub) + "\n",
		Platform:     limit(params.Get("platform"), 64),
		Manufacturer: limit(params.Get("manufacturer"), 64),
		Model:        limit(params.Get("model"), 64),
		AppVersion:   limit(params.Get("app_version"), 32),
	})
	if err != nil {
		return err
	}
	au := act.Authenticator
	customer := act.Customer
	if customer == "" {
		customer = h.host
	}
	duoproto.WriteOK(w, activationResponse{
		PKey: au.ID, AKey: au.PhoneID, HOTPSecret: string(au.HOTPSecret.Reveal()), HOTPCounter: au.HOTPCounter,
		UseTOTP: au.TOTP, CustomerName: customer, CustomerLogo: h.logo,
		Username: act.User.Username, UserID: act.User.ID, APIHost: h.host,
	})
	return nil
}

// limit trims s and cuts it to n bytes at a rune boundary.
func limit(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
