package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// apiPhone is the part of Duo's phone object the CLI shows.
type apiPhone struct {
	PhoneID   string       `json:"phone_id"`
	Number    string       `json:"number"`
	Extension string       `json:"extension"`
	Name      string       `json:"name"`
	Type      string       `json:"type"`
	Platform  string       `json:"platform"`
	Activated bool         `json:"activated"`
	Users     []apiUserRef `json:"users"`
}

// resolvePhone finds a phone by id, then by number.
func (a *adminEnv) resolvePhone(arg string) (apiPhone, error) {
	var raw json.RawMessage
	err := a.client.Get(a.ctx(), apiPath("/admin/v1/phones", arg), nil, &raw)
	if err == nil {
		var p apiPhone
		if err := json.Unmarshal(raw, &p); err != nil {
			return apiPhone{}, fmt.Errorf("look up phone %q: %w", arg, err)
		}
		return p, nil
	}
	if !isNotFound(err) {
		return apiPhone{}, fmt.Errorf("look up phone %q: %w", arg, err)
	}
	if !looksLikeNumber(arg) {
		return apiPhone{}, fmt.Errorf("phone %q not found", arg)
	}
	var list []apiPhone
	if err := a.client.Get(a.ctx(), "/admin/v1/phones", url.Values{"number": {arg}}, &list); err != nil && !isNotFound(err) {
		return apiPhone{}, fmt.Errorf("look up phone %q: %w", arg, err)
	}
	switch len(list) {
	case 0:
		return apiPhone{}, fmt.Errorf("phone %q not found (neither a phone id nor a number)", arg)
	case 1:
		return list[0], nil
	}
	return apiPhone{}, fmt.Errorf("%d phones have the number %q; give the phone id", len(list), arg)
}

type adminPhoneAddCmd struct {
	User      string `arg:"" help:"Username or user id."`
	Number    string `arg:"" help:"Phone number, E.164 recommended (+15555550100)."`
	Type      string `default:"mobile" enum:"mobile,landline,unknown" help:"mobile, landline or unknown."`
	Platform  string `default:"generic smartphone" help:"Platform, for example \"generic smartphone\", \"apple ios\", \"google android\"."`
	Name      string `help:"Display name."`
	Extension string `help:"Extension to dial."`
}

func (c *adminPhoneAddCmd) run(a *adminEnv) error {
	u, _, err := a.resolveUser(c.User)
	if err != nil {
		return err
	}
	p := url.Values{"number": {c.Number}, "type": {c.Type}}
	if c.Type == "mobile" && c.Platform != "" {
		p.Set("platform", c.Platform)
	}
	if c.Name != "" {
		p.Set("name", c.Name)
	}
	if c.Extension != "" {
		p.Set("extension", c.Extension)
	}
	var raw json.RawMessage
	if err := a.client.Post(a.ctx(), "/admin/v1/phones", p, &raw); err != nil {
		return fmt.Errorf("create phone: %w", err)
	}
	var ph apiPhone
	if err := json.Unmarshal(raw, &ph); err != nil || ph.PhoneID == "" {
		return fmt.Errorf("create phone: the response has no phone_id")
	}
	if err := a.client.Post(a.ctx(), apiPath("/admin/v1/users", u.UserID, "phones"), url.Values{"phone_id": {ph.PhoneID}}, nil); err != nil {
		// Do not leave an orphan phone behind.
		derr := a.client.Delete(a.ctx(), apiPath("/admin/v1/phones", ph.PhoneID), nil, nil)
		err = fmt.Errorf("attach phone %s to user %s: %w", ph.PhoneID, u.Username, err)
		if derr != nil {
			err = errors.Join(err, fmt.Errorf("the new phone %s could not be removed again: %w", ph.PhoneID, derr))
		}
		return err
	}
	// Show the phone as it is now, with its user.
	var now json.RawMessage
	if err := a.client.Get(a.ctx(), apiPath("/admin/v1/phones", ph.PhoneID), nil, &now); err == nil {
		raw = now
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	fmt.Fprintf(a.stdout, "created phone %s (%s) for user %s\n", ph.PhoneID, ph.Number, u.Username)
	fmt.Fprintf(a.stdout, "next: twostepd admin phone activate %s\n", ph.PhoneID)
	return nil
}

type adminPhoneActivateCmd struct {
	Phone     string `arg:"" help:"Phone id or number."`
	ValidSecs int    `name:"valid-secs" default:"86400" help:"How long the activation link is valid, in seconds."`
	Install   bool   `help:"Also return an installation link for the app."`
}

// apiActivation is the response of activation_url.
type apiActivation struct {
	ActivationURL     string `json:"activation_url"`
	ActivationBarcode string `json:"activation_barcode"`
	InstallationURL   string `json:"installation_url"`
	ValidSecs         int    `json:"valid_secs"`
}

func (c *adminPhoneActivateCmd) run(a *adminEnv) error {
	ph, err := a.resolvePhone(c.Phone)
	if err != nil {
		return err
	}
	p := url.Values{"valid_secs": {strconv.Itoa(c.ValidSecs)}}
	if c.Install {
		p.Set("install", "1")
	}
	var raw json.RawMessage
	err = a.client.Post(a.ctx(), apiPath("/admin/v1/phones", ph.PhoneID, "activation_url"), p, &raw)
	if isNotFound(err) {
		// The phone exists (we just read it), so the 404 is the endpoint.
		return fmt.Errorf("activate phone %s: phone activation is not supported by this server yet (POST /admin/v1/phones/{id}/activation_url answered: %v)", ph.PhoneID, err)
	}
	if err != nil {
		return fmt.Errorf("activate phone %s: %w", ph.PhoneID, err)
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	var act apiActivation
	json.Unmarshal(raw, &act)
	return writeFields(a.stdout, "Phone", ph.PhoneID+" ("+ph.Number+")", "Activation URL", act.ActivationURL,
		"QR code", act.ActivationBarcode, "Install URL", act.InstallationURL, "Valid for", strconv.Itoa(act.ValidSecs)+"s")
}

type adminPhoneDeleteCmd struct {
	Phone string `arg:"" help:"Phone id or number."`
}

func (c *adminPhoneDeleteCmd) run(a *adminEnv) error {
	ph, err := a.resolvePhone(c.Phone)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := a.client.Delete(a.ctx(), apiPath("/admin/v1/phones", ph.PhoneID), nil, &raw); err != nil {
		return fmt.Errorf("delete phone %s: %w", ph.PhoneID, err)
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	fmt.Fprintf(a.stdout, "deleted phone %s (%s)\n", ph.PhoneID, ph.Number)
	return nil
}

// looksLikeNumber reports whether s may be a phone number: "+", digits and
// separators.
func looksLikeNumber(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-() .", r):
		default:
			return false
		}
	}
	return digits > 0
}
