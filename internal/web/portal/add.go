package portal

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"crypto/rand"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/web"
)

// AddOption is one way to add a device, as the "Add a device" page lists
// them. Another kind of device (a security key) is one more entry.
type AddOption struct {
	Key, Title, Text, URL, Icon string
}

// AddOptions are the ways to add a device, in the order the page shows
// them.
var AddOptions = []AddOption{
	{Key: "app", Title: "Smartphone or tablet with the twostep app", Icon: "phone", URL: "/portal/devices/add/app",
		Text: "Approve logins with one tap, or use the app's passcodes when offline."},
	{Key: "totp", Title: "Another authenticator app", Icon: "shield", URL: "/portal/devices/add/totp",
		Text: "Google Authenticator, Microsoft Authenticator, 1Password, FreeOTP, Aegis or any app that shows 6-digit codes."},
	{Key: "phone", Title: "Mobile phone or landline", Icon: "call", URL: "/portal/devices/add/phone",
		Text: "Get a call, or passcodes by text message. Works with any phone."},
}

// SecurityKeyOption is offered when security keys are on (Deps.SecurityKeys).
var SecurityKeyOption = AddOption{Key: "key", Title: "Security key or this device's passkey", Icon: "key", URL: "/portal/keys/add",
	Text: "A USB or NFC security key, or Touch ID, Face ID or Windows Hello on this device. Phishing-proof."}

// addChoice serves GET /portal/devices/add.
func (p *Pages) addChoice(w http.ResponseWriter, r *http.Request) error {
	return p.enrolPage(w, r, func(me *who) error {
		return p.tmpl.Render(w, r, http.StatusOK, "add.html", p.view(me, "/portal/devices/add", msgAddTitle,
			struct {
				Options []AddOption
				Enrol   bool
			}{p.addOpts, me.enrol}))
	})
}

// ---- the twostep app ----

type appView struct {
	Reactivate bool
	Name       string       // the phone, when reactivating
	QR         template.URL // data URI
	Code       string
	URL        string
	Expires    string
	Started    bool
	Waiting    bool // "check again" found it not yet activated
}

// ActivationValidity is how long a portal activation code works.
const ActivationValidity = 15 * time.Minute

func (p *Pages) appForm(w http.ResponseWriter, r *http.Request) error {
	return p.enrolPage(w, r, func(me *who) error {
		return p.tmpl.Render(w, r, http.StatusOK, "app.html", p.view(me, "/portal/devices/add", msgAppTitle, appView{}))
	})
}

// appStart serves POST /portal/devices/add/app: a new activation, its QR
// code and link shown once.
func (p *Pages) appStart(w http.ResponseWriter, r *http.Request) error {
	return p.enrolPage(w, r, func(me *who) error { return p.startActivation(w, r, me, "") })
}

func (p *Pages) startActivation(w http.ResponseWriter, r *http.Request, me *who, phoneID string) error {
	v := appView{Reactivate: phoneID != "", Started: true}
	title := msgAppTitle
	if phoneID != "" {
		title = msgReactTitle
		d, err := p.admin.SelfDevice(r.Context(), me.actor, phoneID)
		if err != nil {
			return err
		}
		v.Name = d.Name
	}
	link, actID, err := p.admin.SelfActivation(r.Context(), me.actor, phoneID, int(ActivationValidity/time.Second))
	if err != nil {
		return err
	}
	if v.QR, err = web.QRDataURI(string(link.Code)); err != nil {
		return err
	}
	v.Code, v.URL, v.Expires = string(link.Code), link.URL, link.Expires.UTC().Format("15:04 MST")
	me.sess.Put(keyAct, actID)
	web.NoStore(w)
	view := p.view(me, "/portal/devices/add", title, v)
	view.Script = true
	return p.tmpl.Render(w, r, http.StatusOK, "app.html", view)
}

// appStatus serves GET /portal/devices/add/app/status: JSON
// {"active":bool} for the activation the page shows (portal.js polls it).
func (p *Pages) appStatus(w http.ResponseWriter, r *http.Request) error {
	me, err := p.current(r)
	if err != nil {
		if errors.Is(err, errSignedOut) {
			return mfa.E(mfa.Unauthorized, "signed out")
		}
		return err
	}
	id := me.sess.Get(keyAct)
	if id == "" {
		return mfa.E(mfa.NotFound, "no activation")
	}
	done, _, err := p.admin.SelfActivationDone(r.Context(), me.actor, id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"active":%t}`, done)
	return nil
}

// appCheck serves POST /portal/devices/add/app/check: "I activated it":
// the devices page if the app has activated, else the page says so.
func (p *Pages) appCheck(w http.ResponseWriter, r *http.Request) error {
	return p.enrolPage(w, r, func(me *who) error {
		id := me.sess.Get(keyAct)
		if id == "" {
			return web.Redirect(w, r, "/portal/devices/add/app")
		}
		done, phoneID, err := p.admin.SelfActivationDone(r.Context(), me.actor, id)
		if err != nil {
			return err
		}
		if !done {
			return p.tmpl.Render(w, r, http.StatusOK, "app.html", p.view(me, "/portal/devices/add", msgAppTitle,
				appView{Waiting: true}))
		}
		me.sess.Delete(keyAct)
		name := "your device"
		if d, err := p.admin.SelfDevice(r.Context(), me.actor, phoneID); err == nil && d.Name != "" {
			name = d.Name
		}
		return p.added(w, r, me, fmt.Sprintf(msgAppActive, name))
	})
}

// added finishes adding a device: back to the devices with the news, or,
// for an enrolment-only sign-in, to the page that says the device is ready.
func (p *Pages) added(w http.ResponseWriter, r *http.Request, me *who, msg string) error {
	p.notice(me.sess, web.AlertSuccess, msg)
	if me.enrol {
		return web.Redirect(w, r, "/portal/enrolled")
	}
	return web.Redirect(w, r, Prefix)
}

// enrolled serves GET /portal/enrolled: the first device is ready; an
// enrolment-only sign-in ends here (the next login uses the new device).
func (p *Pages) enrolled(w http.ResponseWriter, r *http.Request) error {
	me, err := p.current(r)
	if errors.Is(err, errSignedOut) {
		return p.toLogin(w, r)
	}
	if err != nil {
		return err
	}
	if !me.enrol {
		return web.Redirect(w, r, Prefix)
	}
	v := p.view(me, "", msgEnrolledTitle, nil)
	me.sess.Delete(keySignIn)
	if err := me.sess.RenewToken(); err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "enrolled.html", v)
}

// ---- a standard authenticator app (TOTP) ----

// pendingTOTP is the seed of an authenticator app being added: kept in
// the server-side session until a code from the app proves it.
type pendingTOTP struct {
	Seed []byte    `json:"s"`
	At   time.Time `json:"t"`
}

// totpLifetime is how long a new seed waits for its first code.
const totpLifetime = 15 * time.Minute

type totpView struct {
	QR          template.URL
	Secret, URI string
	Name, Code  web.Field
}

func (p *Pages) totpSeed(me *who) (pendingTOTP, error) {
	var pt pendingTOTP
	if err := me.sess.GetJSON(keyTOTP, &pt); err == nil && len(pt.Seed) == 20 && p.now().Sub(pt.At) < totpLifetime {
		return pt, nil
	}
	pt = pendingTOTP{Seed: make([]byte, 20), At: p.now()}
	if _, err := io.ReadFull(p.rand, pt.Seed); err != nil {
		return pendingTOTP{}, err
	}
	return pt, me.sess.PutJSON(keyTOTP, pt)
}

func (p *Pages) totpView(me *who, pt pendingTOTP, name, code string) (totpView, error) {
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(pt.Seed)
	issuer := p.site.Organization()
	label := url.PathEscape(issuer + ":" + me.user.Username)
	uri := "otpauth://totp/" + label + "?" + url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"},
		"digits": {"6"}, "period": {"30"}}.Encode()
	qr, err := web.QRDataURI(uri)
	if err != nil {
		return totpView{}, err
	}
	var grouped []string
	for i := 0; i < len(secret); i += 4 {
		grouped = append(grouped, secret[i:min(i+4, len(secret))])
	}
	return totpView{QR: qr, Secret: strings.Join(grouped, " "), URI: uri,
		Name: web.Field{Name: "name", Label: "Name this app", Hint: "So you can tell it apart, such as \"Aegis on my phone\".",
			Value: name, Required: true, Autocomplete: "off"},
		Code: web.Field{Name: "code", Label: "Code from the app", Hint: "The 6 digits the app shows now.", Value: code,
			InputMode: "numeric", Autocomplete: "one-time-code", Required: true}}, nil
}

func (p *Pages) totpForm(w http.ResponseWriter, r *http.Request) error {
	return p.enrolPage(w, r, func(me *who) error {
		pt, err := p.totpSeed(me)
		if err != nil {
			return err
		}
		v, err := p.totpView(me, pt, "", "")
		if err != nil {
			return err
		}
		web.NoStore(w)
		view := p.view(me, "/portal/devices/add", msgTOTPTitle, v)
		view.Script = true
		return p.tmpl.Render(w, r, http.StatusOK, "totp.html", view)
	})
}

// totpSave serves POST /portal/devices/add/totp: a valid code from the
// app saves it (the code's step is recorded, so it cannot log in again).
func (p *Pages) totpSave(w http.ResponseWriter, r *http.Request) error {
	return p.enrolPage(w, r, func(me *who) error {
		var pt pendingTOTP
		if err := me.sess.GetJSON(keyTOTP, &pt); err != nil || len(pt.Seed) != 20 || p.now().Sub(pt.At) >= totpLifetime {
			p.notice(me.sess, web.AlertError, msgCheckExpired)
			me.sess.Delete(keyTOTP)
			return web.Redirect(w, r, "/portal/devices/add/totp")
		}
		name, code := r.PostFormValue("name"), strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("code")), " ", "")
		if len(code) > 10 {
			code = code[:10]
		}
		v, err := p.totpView(me, pt, name, code)
		if err != nil {
			return err
		}
		view := p.view(me, "/portal/devices/add", msgTOTPTitle, v)
		web.NoStore(w)
		web.Form(r, p.tmpl, "totp.html", view)
		if strings.TrimSpace(name) == "" {
			return mfa.InvalidField("name", msgNeedName)
		}
		step, ok := otp.VerifyTOTP(pt.Seed, code, p.now(), 30, 1, 6)
		if !ok {
			return mfa.InvalidField("code", msgTOTPBadCode)
		}
		d, err := p.admin.SelfAddTOTP(r.Context(), me.actor, name, pt.Seed, step)
		if err != nil {
			return err
		}
		me.sess.Delete(keyTOTP)
		return p.added(w, r, me, fmt.Sprintf(msgTOTPAdded, d.Name))
	})
}

// ---- a phone for calls and text messages ----

// pendingPhone is a phone being added, waiting for its check code.
type pendingPhone struct {
	Phone    admin.NewSelfPhone `json:"p"`
	CodeHash string             `json:"h"`
	At       time.Time          `json:"t"`
	Tries    int                `json:"n"`
}

const (
	phoneCheckLifetime = 10 * time.Minute
	phoneCheckTries    = 5
)

type phoneView struct {
	Country, Number, Extension, Name web.Field
	Type                             string
}

func phoneForm(r *http.Request) phoneView {
	v := phoneView{
		Country: web.Field{Name: "country", Label: "Country calling code", Hint: "Such as 1 for the US and Canada, 44 for the UK.",
			Value: r.PostFormValue("country"), InputMode: "numeric", Autocomplete: "tel-country-code", Required: true},
		Number: web.Field{Name: "number", Label: "Phone number", Value: r.PostFormValue("number"), Type: "tel",
			Autocomplete: "tel-national", Required: true},
		Extension: web.Field{Name: "extension", Label: "Extension (optional)", Hint: "For a desk phone behind a switchboard.",
			Value: r.PostFormValue("extension"), InputMode: "numeric", Autocomplete: "off"},
		Name: web.Field{Name: "name", Label: "Name (optional)", Hint: "Such as \"Desk phone\".", Value: r.PostFormValue("name"),
			Autocomplete: "off"},
		Type: r.PostFormValue("type"),
	}
	if r.Method == http.MethodGet {
		v.Country.Value = "1"
	}
	if v.Type != string(mfa.PhoneLandline) {
		v.Type = string(mfa.PhoneMobile)
	}
	return v
}

func (p *Pages) phoneForm(w http.ResponseWriter, r *http.Request) error {
	return p.enrolPage(w, r, func(me *who) error {
		return p.tmpl.Render(w, r, http.StatusOK, "phone.html", p.view(me, "/portal/devices/add", msgPhoneTitle, phoneForm(r)))
	})
}

// phoneSend serves POST /portal/devices/add/phone: a check code by text
// message (mobile) or call (landline); the phone is saved only once the
// code comes back.
func (p *Pages) phoneSend(w http.ResponseWriter, r *http.Request) error {
	return p.enrolPage(w, r, func(me *who) error {
		v := phoneForm(r)
		web.Form(r, p.tmpl, "phone.html", p.view(me, "/portal/devices/add", msgPhoneTitle, v))
		np, err := admin.NormalizeSelfNumber(v.Country.Value, v.Number.Value, v.Extension.Value, mfa.PhoneType(r.PostFormValue("type")))
		if err != nil {
			return err
		}
		np.Name = strings.TrimSpace(v.Name.Value)
		if len(np.Name) > 4*admin.MaxDeviceName {
			return mfa.InvalidField("name", fmt.Sprintf("Use at most %d characters.", admin.MaxDeviceName))
		}
		n, err := rand.Int(p.rand, big.NewInt(1_000_000))
		if err != nil {
			return err
		}
		code := fmt.Sprintf("%06d", n.Int64())
		if err := p.admin.SelfSendPhoneCheck(r.Context(), me.actor, np, code); err != nil {
			return err
		}
		if err := me.sess.PutJSON(keyPhone, pendingPhone{Phone: np, CodeHash: codeHash(code), At: p.now()}); err != nil {
			return err
		}
		msg := msgCodeSent
		if np.Type == mfa.PhoneLandline {
			msg = msgCallPlaced
		}
		p.notice(me.sess, web.AlertInfo, fmt.Sprintf(msg, authflow.MaskNumber(np.Number)))
		return web.Redirect(w, r, "/portal/devices/add/phone/check")
	})
}

func codeHash(code string) string {
	h := sha256.Sum256([]byte("portal phone check\x00" + code))
	return hex.EncodeToString(h[:])
}

type checkView struct {
	Number string
	Code   web.Field
}

func (p *Pages) pendingPhone(me *who) (pendingPhone, bool) {
	var pp pendingPhone
	if err := me.sess.GetJSON(keyPhone, &pp); err != nil || pp.CodeHash == "" || p.now().Sub(pp.At) >= phoneCheckLifetime ||
		pp.Tries >= phoneCheckTries {
		return pendingPhone{}, false
	}
	return pp, true
}

func (p *Pages) phoneCheckView(me *who, pp pendingPhone, code string) web.View {
	return p.view(me, "/portal/devices/add", msgCheckTitle, checkView{Number: authflow.MaskNumber(pp.Phone.Number),
		Code: web.Field{Name: "code", Label: "Check code", Hint: "The 6 digits we sent.", Value: code, InputMode: "numeric",
			Autocomplete: "one-time-code", Required: true, Autofocus: true}})
}

func (p *Pages) phoneCheckForm(w http.ResponseWriter, r *http.Request) error {
	return p.enrolPage(w, r, func(me *who) error {
		pp, ok := p.pendingPhone(me)
		if !ok {
			return web.Redirect(w, r, "/portal/devices/add/phone")
		}
		return p.tmpl.Render(w, r, http.StatusOK, "check.html", p.phoneCheckView(me, pp, ""))
	})
}

// phoneCheck serves POST /portal/devices/add/phone/check: the right code
// saves the phone; five wrong ones end the check.
func (p *Pages) phoneCheck(w http.ResponseWriter, r *http.Request) error {
	return p.enrolPage(w, r, func(me *who) error {
		pp, ok := p.pendingPhone(me)
		if !ok {
			me.sess.Delete(keyPhone)
			p.notice(me.sess, web.AlertError, msgCheckExpired)
			return web.Redirect(w, r, "/portal/devices/add/phone")
		}
		code := strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("code")), " ", "")
		if len(code) > 10 {
			code = code[:10]
		}
		if subtle.ConstantTimeCompare([]byte(codeHash(code)), []byte(pp.CodeHash)) != 1 {
			pp.Tries++
			if pp.Tries >= phoneCheckTries {
				me.sess.Delete(keyPhone)
				p.notice(me.sess, web.AlertError, msgCheckAttempts)
				return web.Redirect(w, r, "/portal/devices/add/phone")
			}
			if err := me.sess.PutJSON(keyPhone, pp); err != nil {
				return err
			}
			view := p.phoneCheckView(me, pp, code)
			view.Errors = []web.FieldError{{Field: "code", Msg: msgBadCode}}
			return p.tmpl.Render(w, r, http.StatusBadRequest, "check.html", view)
		}
		me.sess.Delete(keyPhone)
		d, err := p.admin.SelfAddPhone(r.Context(), me.actor, pp.Phone)
		if err != nil {
			return err
		}
		return p.added(w, r, me, fmt.Sprintf(msgPhoneAdded, d.Name))
	})
}
