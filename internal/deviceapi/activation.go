package deviceapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

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
	info := authflow.DeviceInfo{PublicKey: strings.TrimSpace(pub) + "\n"}
	for _, f := range []struct {
		name string
		max  int
		to   *string
	}{
		{"platform", maxDeviceText, &info.Platform},
		{"manufacturer", maxDeviceText, &info.Manufacturer},
		{"model", maxDeviceText, &info.Model},
		{"app_version", maxAppVersion, &info.AppVersion},
	} {
		if *f.to, err = deviceText(params, f.name, f.max); err != nil {
			return err
		}
	}
	act, err := h.flow.Activate(r.Context(), r.PathValue("code"), info)
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

// Bounds of the text a device tells about itself.
const (
	maxDeviceText = 64 // platform, manufacturer, model
	maxAppVersion = 32
)

// deviceText returns the parameter name, trimmed: text that administrators
// later read in the console, the CLI and logs. Invalid UTF-8, control
// characters (such as ESC) and Unicode format characters (such as the
// bidirectional overrides) are refused, as is text longer than max bytes,
// with 400/40002 naming the parameter.
func deviceText(params url.Values, name string, max int) (string, error) {
	s := strings.TrimSpace(params.Get(name))
	switch {
	case !utf8.ValidString(s):
		return "", duoproto.BadParam(name + ": not valid UTF-8")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		return "", duoproto.BadParam(name + ": must not contain control characters")
	case len(s) > max:
		return "", duoproto.BadParam(fmt.Sprintf("%s: at most %d bytes", name, max))
	}
	return s, nil
}
