package portal

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// deviceView is one device row.
type deviceView struct {
	ID, Name, Icon, Kind string
	Number               string // masked
	Platform             string
	Methods              string // "Push, call, text message, passcode"
	LastUsed             string
	Active               bool // the twostep app is activated on it
	CanSMS, CanApp       bool // "Text me new codes"; reactivate the app
	Renamable            bool
	NextCode             string
}

func deviceViews(devs []admin.SelfDevice, now time.Time) []deviceView {
	out := make([]deviceView, 0, len(devs))
	for _, d := range devs {
		v := deviceView{ID: d.ID, Name: d.Name, Icon: "phone", Kind: "Phone", NextCode: d.SMSNextCode, Renamable: true}
		var methods []string
		for _, c := range d.Capabilities {
			switch c {
			case mfa.CapPush:
				methods = append(methods, "push")
			case mfa.CapPhone:
				methods = append(methods, "call")
			case mfa.CapSMS:
				methods = append(methods, "text message")
			case mfa.CapMobileOTP:
				methods = append(methods, "passcode")
			}
		}
		switch {
		case d.Kind == admin.DevicePhone:
			p := d.Phone
			v.Number, v.Active, v.CanSMS = authflow.MaskNumber(p.Number), p.Activated, p.Can(mfa.CapSMS)
			v.CanApp = p.Type != mfa.PhoneLandline
			if p.Platform != "" && p.Platform != "unknown" {
				v.Platform = p.Platform
			}
			switch p.Type {
			case mfa.PhoneLandline:
				v.Kind = "Landline"
			case mfa.PhoneTablet:
				v.Kind = "Tablet"
			case mfa.PhoneMobile:
				v.Kind = "Mobile phone"
			}
			if v.Name == "" {
				v.Name = v.Kind
			}
		case d.UserApp:
			v.Icon, v.Kind, v.Platform = "shield", "Authenticator app", "TOTP (otpauth)"
		default:
			v.Icon, v.Kind, v.Platform, v.Renamable = "key", "Hardware token", string(d.Token.Type), false
			methods = []string{"passcode"}
		}
		if len(methods) == 0 {
			methods = []string{"none yet"}
		}
		v.Methods = strings.ToUpper(methods[0][:1]) + strings.Join(methods, ", ")[1:]
		v.LastUsed = "never used"
		if !d.LastUsed.IsZero() {
			v.LastUsed = "last used " + ago(now, d.LastUsed)
		}
		out = append(out, v)
	}
	return out
}

// ago says how long before now t was, in words.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return "on " + t.UTC().Format("2 Jan 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

type devicesView struct {
	Devices  []deviceView
	Keys     []keyView // security keys and passkeys (internal/web/keys manages them)
	One      bool      // only one device: advise a second
	Defaults []defaultOption
}

// keyView is one security key or passkey in the device list.
type keyView struct {
	ID, Name, Kind, LastUsed string
	Cloned                   bool
}

func keyViews(keys []mfa.WebAuthnCredential, now time.Time) []keyView {
	out := make([]keyView, 0, len(keys))
	for _, k := range keys {
		v := keyView{ID: k.ID, Name: k.Name, Kind: "Security key", LastUsed: "never used", Cloned: k.Cloned}
		if k.Attachment == mfa.AttachmentPlatform {
			v.Kind = "Passkey on a device"
		}
		if !k.LastUsed.IsZero() {
			v.LastUsed = "last used " + ago(now, k.LastUsed)
		}
		out = append(out, v)
	}
	return out
}

// defaultOption is one choice of the default device and method.
type defaultOption struct {
	Value, Label string
	Selected     bool
}

var methodWords = map[mfa.Factor]string{mfa.FactorPush: "Send Me a Push", mfa.FactorPhone: "Call Me",
	mfa.FactorPasscode: "Enter a Passcode", mfa.FactorSMS: "Text me new codes"}

func defaultOptions(u mfa.User, devs []admin.SelfDevice, views []deviceView, keys []keyView) []defaultOption {
	out := []defaultOption{{Value: "", Label: "No default: choose at each login", Selected: u.DefaultDevice == ""}}
	for i, d := range devs {
		name := views[i].Name
		if views[i].Number != "" {
			name += " (" + views[i].Number + ")"
		}
		for _, m := range admin.SelfMethods(d) {
			out = append(out, defaultOption{Value: string(m) + " " + d.ID, Label: name + ": " + methodWords[m],
				Selected: u.DefaultDevice == d.ID && u.DefaultMethod == string(m)})
		}
	}
	for _, k := range keys {
		if !k.Cloned {
			out = append(out, defaultOption{Value: mfa.DefaultMethodKey + " " + k.ID, Label: k.Name + ": Use a security key",
				Selected: u.DefaultDevice == k.ID && u.DefaultMethod == mfa.DefaultMethodKey})
		}
	}
	return out
}

// devices renders the device list of GET /portal/.
func (p *Pages) devices(w http.ResponseWriter, r *http.Request, me *who) error {
	devs, err := p.admin.SelfDevices(r.Context(), me.actor)
	if err != nil {
		return err
	}
	v := devicesView{Devices: deviceViews(devs, p.now())}
	if p.keys {
		ks, err := p.flow.UserKeys(r.Context(), me.user.ID)
		if err != nil {
			return err
		}
		v.Keys = keyViews(ks, p.now())
	}
	v.One = len(devs)+len(v.Keys) == 1
	v.Defaults = defaultOptions(me.user, devs, v.Devices, v.Keys)
	return p.tmpl.Render(w, r, http.StatusOK, "devices.html", p.view(me, Prefix, msgDevicesTitle, v))
}

// setDefault serves POST /portal/default: the default device and method
// ("push DP..." or "" for none), which the prompt preselects.
func (p *Pages) setDefault(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, func(me *who) error {
		method, device, _ := strings.Cut(r.PostFormValue("default"), " ")
		if err := p.admin.SelfSetDefault(r.Context(), me.actor, device, mfa.Factor(method)); err != nil {
			return err
		}
		p.notice(me.sess, web.AlertSuccess, msgDefaultSaved)
		return web.Redirect(w, r, Prefix)
	})
}

// device finds the path's device among the user's; NotFound otherwise.
func (p *Pages) device(r *http.Request, me *who) (admin.SelfDevice, error) {
	return p.admin.SelfDevice(r.Context(), me.actor, r.PathValue("id"))
}

type renameView struct {
	Device deviceView
	Name   web.Field
}

func (p *Pages) renameForm(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, func(me *who) error {
		d, err := p.device(r, me)
		if err != nil {
			return err
		}
		v := renameView{Device: deviceViews([]admin.SelfDevice{d}, p.now())[0],
			Name: web.Field{Name: "name", Label: "New name", Value: d.Name, Required: true, Autofocus: true, Autocomplete: "off"}}
		return p.tmpl.Render(w, r, http.StatusOK, "rename.html", p.view(me, "", msgRenameTitle, v))
	})
}

func (p *Pages) rename(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, func(me *who) error {
		d, err := p.device(r, me)
		if err != nil {
			return err
		}
		name := r.PostFormValue("name")
		v := renameView{Device: deviceViews([]admin.SelfDevice{d}, p.now())[0],
			Name: web.Field{Name: "name", Label: "New name", Value: name, Required: true, Autofocus: true, Autocomplete: "off"}}
		web.Form(r, p.tmpl, "rename.html", p.view(me, "", msgRenameTitle, v))
		if err := p.admin.SelfRenameDevice(r.Context(), me.actor, d.ID, name); err != nil {
			return err
		}
		p.notice(me.sess, web.AlertSuccess, msgRenamed)
		return web.Redirect(w, r, Prefix)
	})
}

type removeView struct {
	Device deviceView
	Last   bool // the user's only device
}

func (p *Pages) removeForm(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, func(me *who) error {
		d, err := p.device(r, me)
		if err != nil {
			return err
		}
		devs, err := p.admin.SelfDevices(r.Context(), me.actor)
		if err != nil {
			return err
		}
		v := removeView{Device: deviceViews([]admin.SelfDevice{d}, p.now())[0], Last: len(devs) == 1}
		return p.tmpl.Render(w, r, http.StatusOK, "remove.html", p.view(me, "", msgRemoveTitle, v))
	})
}

func (p *Pages) remove(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, func(me *who) error {
		if err := p.admin.SelfRemoveDevice(r.Context(), me.actor, r.PathValue("id")); err != nil {
			return err
		}
		p.notice(me.sess, web.AlertSuccess, msgRemoved)
		return web.Redirect(w, r, Prefix)
	})
}

// sms serves POST /portal/devices/{id}/sms: "Text me new codes".
func (p *Pages) sms(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, func(me *who) error {
		id := r.PathValue("id")
		if err := p.admin.SelfSendSMSPasscodes(r.Context(), me.actor, id); err != nil {
			return err
		}
		d, err := p.admin.SelfDevice(r.Context(), me.actor, id)
		if err != nil {
			return err
		}
		p.notice(me.sess, web.AlertSuccess, fmt.Sprintf(msgSMSSent, authflow.MaskNumber(d.Phone.Number), d.SMSNextCode))
		return web.Redirect(w, r, Prefix)
	})
}

// reactivate serves POST /portal/devices/{id}/reactivate: a new
// activation of the twostep app on that phone.
func (p *Pages) reactivate(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, func(me *who) error {
		return p.startActivation(w, r, me, r.PathValue("id"))
	})
}
