package adminapi

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Duo's Admin API objects. Field names and shapes follow DUO-WIRE.md 3.2-3.5
// and the structs of duo_api_golang/admin, which decodes them.

type userObject struct {
	UserID            string            `json:"user_id"`
	Username          string            `json:"username"`
	RealName          string            `json:"realname"`
	FirstName         string            `json:"firstname"`
	LastName          string            `json:"lastname"`
	Email             string            `json:"email"`
	Status            string            `json:"status"`
	Notes             string            `json:"notes"`
	Created           int64             `json:"created"`
	LastLogin         *int64            `json:"last_login"`
	LastDirectorySync *int64            `json:"last_directory_sync"`
	IsEnrolled        bool              `json:"is_enrolled"`
	LockoutReason     *string           `json:"lockout_reason"`
	Alias1            *string           `json:"alias1"`
	Alias2            *string           `json:"alias2"`
	Alias3            *string           `json:"alias3"`
	Alias4            *string           `json:"alias4"`
	Aliases           map[string]string `json:"aliases"`
	Phones            []phoneObject     `json:"phones"`
	Tokens            []tokenObject     `json:"tokens"`
	Groups            []groupObject     `json:"groups"`
	U2FTokens         []struct{}        `json:"u2ftokens"`
	WebAuthn          []webauthnObject  `json:"webauthncredentials"`
	DesktopTokens     []struct{}        `json:"desktoptokens"`
}

// userRef is the short user object inside phones, tokens and bypass codes.
type userRef struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	RealName string `json:"realname"`
	Email    string `json:"email"`
	Status   string `json:"status"`
}

func newUserRef(u mfa.User) userRef {
	return userRef{UserID: u.ID, Username: u.Username, RealName: u.RealName, Email: u.Email, Status: string(u.Status)}
}

// newUserObject renders a user with their phones, tokens, groups and
// security keys.
func newUserObject(u mfa.User, phones []mfa.Phone, tokens []mfa.Token, groups []mfa.Group, keys []mfa.WebAuthnCredential) userObject {
	o := userObject{
		UserID: u.ID, Username: u.Username, RealName: u.RealName, FirstName: u.FirstName, LastName: u.LastName,
		Email: u.Email, Status: string(u.Status), Notes: u.Notes, Created: u.Created.Unix(),
		LastLogin:  unix(u.LastLogin),
		IsEnrolled: len(phones) > 0 || len(tokens) > 0 || len(keys) > 0,
		Aliases:    map[string]string{},
		Phones:     []phoneObject{}, Tokens: []tokenObject{},
		Groups: newGroupObjects(groups), U2FTokens: []struct{}{}, WebAuthn: []webauthnObject{}, DesktopTokens: []struct{}{},
	}
	if u.Status == mfa.StatusLockedOut {
		reason := "Too many failed authentication attempts"
		o.LockoutReason = &reason
	}
	slots := []**string{&o.Alias1, &o.Alias2, &o.Alias3, &o.Alias4}
	for i, a := range u.Aliases {
		a := a
		if i < len(slots) {
			*slots[i] = &a
		}
		o.Aliases["alias"+strconv.Itoa(i+1)] = a
	}
	for _, p := range phones {
		o.Phones = append(o.Phones, newPhoneObject(p, nil))
	}
	for _, t := range tokens {
		o.Tokens = append(o.Tokens, newTokenObject(t, nil))
	}
	for _, k := range keys {
		o.WebAuthn = append(o.WebAuthn, newWebAuthnObject(k, nil))
	}
	return o
}

// webauthnObject is Duo's WebAuthn credential: webauthnkey, credential_name,
// label and date_added, with its user when listed on its own. twostep adds
// what an administrator needs to judge a key: its kind, model, last use and
// whether its counter went backwards (cloned).
type webauthnObject struct {
	WebAuthnKey    string   `json:"webauthnkey"`
	CredentialName string   `json:"credential_name"`
	Label          string   `json:"label"`
	DateAdded      int64    `json:"date_added"`
	User           *userRef `json:"user,omitempty"`
	// twostep extensions
	Platform   bool     `json:"platform"`
	AAGUID     string   `json:"aaguid"`
	Transports []string `json:"transports"`
	LastUsed   *int64   `json:"last_used"`
	Cloned     bool     `json:"cloned"`
}

// WebAuthn labels, as Duo's Admin API names the kinds.
const (
	labelSecurityKey = "Security Key"
	labelPlatform    = "Platform Authenticator"
)

func newWebAuthnObject(c mfa.WebAuthnCredential, user *mfa.User) webauthnObject {
	o := webauthnObject{WebAuthnKey: c.ID, CredentialName: c.Name, Label: labelSecurityKey, DateAdded: c.Created.Unix(),
		Platform: c.Platform(), AAGUID: formatAAGUID(c.AAGUID), Transports: append([]string{}, c.Transports...),
		LastUsed: unix(c.LastUsed), Cloned: c.Cloned}
	if c.Platform() {
		o.Label = labelPlatform
	}
	if user != nil {
		ref := newUserRef(*user)
		o.User = &ref
	}
	return o
}

// formatAAGUID writes an AAGUID as a lower-case hyphenated UUID.
func formatAAGUID(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

type phoneObject struct {
	PhoneID          string    `json:"phone_id"`
	Number           string    `json:"number"`
	Extension        string    `json:"extension"`
	Name             string    `json:"name"`
	Type             string    `json:"type"`
	Platform         string    `json:"platform"`
	Model            string    `json:"model"`
	Capabilities     []string  `json:"capabilities"`
	Activated        bool      `json:"activated"`
	SMSPasscodesSent bool      `json:"sms_passcodes_sent"`
	LastSeen         string    `json:"last_seen"`
	Postdelay        *string   `json:"postdelay"`
	Predelay         *string   `json:"predelay"`
	Users            []userRef `json:"users,omitempty"`
}

// displayCase renders Duo's display words: "mobile" -> "Mobile",
// "apple ios" -> "Apple iOS".
func displayCase(s string) string {
	special := map[string]string{"ios": "iOS", "webos": "webOS", "os": "OS", "j2me": "J2ME"}
	words := strings.Fields(s)
	for i, w := range words {
		if sp, ok := special[w]; ok {
			words[i] = sp
		} else if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

func newPhoneObject(p mfa.Phone, users []mfa.User) phoneObject {
	o := phoneObject{
		PhoneID: p.ID, Number: p.Number, Extension: p.Extension, Name: p.Name,
		Type: displayCase(string(p.Type)), Platform: displayCase(p.Platform), Model: p.Model,
		Capabilities: []string{}, Activated: p.Activated, SMSPasscodesSent: p.SMSPasscodesSent,
	}
	if !p.LastSeen.IsZero() {
		o.LastSeen = p.LastSeen.UTC().Format("2006-01-02T15:04:05")
	}
	o.Predelay, o.Postdelay = delaySeconds(p.PreDelay), delaySeconds(p.PostDelay)
	for _, c := range p.Capabilities() {
		o.Capabilities = append(o.Capabilities, string(c))
	}
	if users != nil {
		o.Users = []userRef{}
		for _, u := range users {
			o.Users = append(o.Users, newUserRef(u))
		}
	}
	return o
}

type tokenObject struct {
	TokenID  string    `json:"token_id"`
	Type     string    `json:"type"`
	Serial   string    `json:"serial"`
	TOTPStep *int      `json:"totp_step"`
	Users    []userRef `json:"users,omitempty"`
}

func newTokenObject(t mfa.Token, users []mfa.User) tokenObject {
	o := tokenObject{TokenID: t.ID, Type: string(t.Type), Serial: t.Serial}
	if t.Type == mfa.TokenT6 || t.Type == mfa.TokenT8 {
		step := t.TOTPStep
		o.TOTPStep = &step
	}
	if users != nil {
		o.Users = []userRef{}
		for _, u := range users {
			o.Users = append(o.Users, newUserRef(u))
		}
	}
	return o
}

type bypassObject struct {
	BypassCodeID string  `json:"bypass_code_id"`
	AdminEmail   string  `json:"admin_email"`
	Created      int64   `json:"created"`
	Expiration   *int64  `json:"expiration"`
	ReuseCount   *int    `json:"reuse_count"` // uses left; null = unlimited
	User         userRef `json:"user"`
}

func newBypassObject(b mfa.BypassCode, u mfa.User) bypassObject {
	o := bypassObject{BypassCodeID: b.ID, AdminEmail: b.CreatedBy, Created: b.Created.Unix(),
		Expiration: unix(b.Expires), User: newUserRef(u)}
	if !b.Unlimited {
		left := b.UsesLeft
		o.ReuseCount = &left
	}
	return o
}

// delaySeconds renders a phone's predelay/postdelay as Duo does: whole
// seconds as a string, null when not set.
func delaySeconds(d *time.Duration) *string {
	if d == nil {
		return nil
	}
	s := strconv.Itoa(int(*d / time.Second))
	return &s
}
