package api

import "github.com/twostep-auth/twostep/internal/mfa"

// The authentication-log record, as the Admin API's v2 log answers it
// (DUO-WIRE.md 3.6) and the Universal Prompt's id_token carries it as
// auth_context (section 6): one shape for both.

// AuthLogRecord is one v2 authentication-log record.
type AuthLogRecord struct {
	TxID         string         `json:"txid"`
	Timestamp    int64          `json:"timestamp"`
	ISOTimestamp string         `json:"isotimestamp"`
	EventType    string         `json:"event_type"`
	Factor       string         `json:"factor"`
	Result       string         `json:"result"`
	Reason       string         `json:"reason"`
	User         AuthLogUser    `json:"user"`
	Application  AuthLogApp     `json:"application"`
	AccessDevice AccessDevice   `json:"access_device"`
	AuthDevice   AuthDevice     `json:"auth_device"`
	Alias        string         `json:"alias"`
	Email        string         `json:"email"`
	OODSoftware  *string        `json:"ood_software"`
	Adaptive     map[string]any `json:"adaptive_trust_assessments"`
}

// AuthLogUser is a record's user.
type AuthLogUser struct {
	Key    string   `json:"key"`
	Name   string   `json:"name"`
	Groups []string `json:"groups"`
}

// AuthLogApp is a record's application (integration).
type AuthLogApp struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// LogLocation is a geographic location (empty: unknown).
type LogLocation struct {
	City    string `json:"city"`
	State   string `json:"state"`
	Country string `json:"country"`
}

// AccessDevice is the device the person logged in from.
type AccessDevice struct {
	IP             *string     `json:"ip"`
	Hostname       *string     `json:"hostname"`
	Browser        *string     `json:"browser"`
	BrowserVersion *string     `json:"browser_version"`
	OS             *string     `json:"os"`
	OSVersion      *string     `json:"os_version"`
	Location       LogLocation `json:"location"`
}

// AuthDevice is the device that approved.
type AuthDevice struct {
	IP       *string     `json:"ip"`
	Name     *string     `json:"name"`
	Location LogLocation `json:"location"`
}

func strOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// NewAuthLogRecord renders e.
func NewAuthLogRecord(e mfa.AuthLogEntry) AuthLogRecord {
	event := e.EventType
	if event == "" {
		event = "authentication"
	}
	return AuthLogRecord{
		TxID: e.TxID, Timestamp: e.Time.Unix(), ISOTimestamp: e.Time.UTC().Format("2006-01-02T15:04:05.000000+00:00"),
		EventType: event, Factor: e.Factor, Result: string(e.Result), Reason: e.Reason,
		User:         AuthLogUser{Key: e.UserID, Name: e.Username, Groups: []string{}},
		Application:  AuthLogApp{Key: e.IKey, Name: e.IntegrationName},
		AccessDevice: AccessDevice{IP: strOrNull(e.IP), Hostname: strOrNull(e.Hostname)},
		AuthDevice:   AuthDevice{Name: strOrNull(e.DeviceName)},
		Alias:        "", Email: "", Adaptive: map[string]any{},
	}
}
