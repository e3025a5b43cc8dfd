package twilio_test

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/twilio"
)

const (
	account = "AC0123456789abcdef0123456789abcdef"
	token   = "authtoken0123456789"
)

func newClient(t *testing.T, base string, mod func(*twilio.Config)) *twilio.Client {
	t.Helper()
	cfg := twilio.Config{BaseURL: base, AccountSID: account, AuthToken: token, From: "+15005550006",
		CallbackURL: "https://twostep.example.com", Backoff: func(int) time.Duration { return 0 },
		Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := twilio.New(cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return c
}

var smsMsg = mfa.Message{Channel: mfa.ChannelSMS, To: "+15555550100", Body: "twostep passcodes: 1234567 2345678", Context: "authentication"}

func TestSMS(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		pass     string
		mod      func(*twilio.Config)
		wantFrom string
		wantMSID string
	}{
		{"auth token and from", account, token, nil, "+15005550006", ""},
		{"api key and messaging service", "SK0123", "keysecret", func(c *twilio.Config) {
			c.AuthToken, c.APIKeySID, c.APIKeySecret, c.MessagingServiceSID = "", "SK0123", "keysecret", "MG0123"
		}, "", "MG0123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFake(t, account, tt.user, tt.pass)
			c := newClient(t, srv.URL, tt.mod)
			if err := c.Send(t.Context(), smsMsg); err != nil {
				t.Fatalf("Send(sms) = %v", err)
			}
			reqs := f.all()
			if len(reqs) != 1 {
				t.Fatalf("fake got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Path != "/2010-04-01/Accounts/"+account+"/Messages.json" || r.User != tt.user {
				t.Errorf("request path %s user %s", r.Path, r.User)
			}
			if r.Form.Get("To") != smsMsg.To || r.Form.Get("Body") != string(smsMsg.Body) ||
				r.Form.Get("From") != tt.wantFrom || r.Form.Get("MessagingServiceSid") != tt.wantMSID ||
				r.Form.Get("StatusCallback") != "https://twostep.example.com/notify/twilio/status?kind=sms" {
				t.Errorf("form = %v", r.Form)
			}
		})
	}
}

// TestDeliverReceipt: Deliver returns the sid Twilio answered and an
// SMS's num_segments (Twilio sends it as a string), which the telephony
// log bills; a call's receipt is its CallSid.
func TestDeliverReceipt(t *testing.T) {
	f, srv := newFake(t, account, account, token)
	c := newClient(t, srv.URL, nil)
	long := strings.Repeat("1234567 ", 40) // 320 GSM characters: 3 segments of 153
	uni := strings.Repeat("ü", 71)         // 71 UCS-2 characters: 2 segments of 67
	tests := []struct {
		name string
		give mfa.Message
		want mfa.Receipt
		cred int
	}{
		{"short sms", smsMsg, mfa.Receipt{CarrierID: "SM00000000000000000000000000000000", Segments: 1}, 1},
		{"long sms", mfa.Message{Channel: mfa.ChannelSMS, To: "+15555550100", Body: mfa.Passcode(long)},
			mfa.Receipt{CarrierID: "SM00000000000000000000000000000001", Segments: 3}, 3},
		{"unicode sms", mfa.Message{Channel: mfa.ChannelSMS, To: "+15555550100", Body: mfa.Passcode(uni)},
			mfa.Receipt{CarrierID: "SM00000000000000000000000000000002", Segments: 2}, 2},
		{"call", mfa.Message{Channel: mfa.ChannelVoice, To: "+15555550142", TxID: "tx-1", Body: "Press 1"},
			mfa.Receipt{CarrierID: "CA00000000000000000000000000000003"}, 1},
	}
	for _, tt := range tests {
		got, err := c.Deliver(t.Context(), tt.give)
		if err != nil || got != tt.want || got.Credits(tt.give.Channel) != tt.cred {
			t.Errorf("%s: Deliver() = %+v (credits %d), %v; want %+v (credits %d)", tt.name, got, got.Credits(tt.give.Channel), err, tt.want, tt.cred)
		}
	}
	// num_segments missing, a number, or nonsense: unknown (one credit),
	// the sid still kept.
	for i, seg := range []string{``, `,"num_segments":2`, `,"num_segments":"x"`, `,"num_segments":null`, `,"num_segments":"-4"`} {
		f.reply = func(n int, w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(201)
			io.WriteString(w, `{"sid":"SMother","status":"queued"`+seg+`}`)
			return true
		}
		want := mfa.Receipt{CarrierID: "SMother"}
		if i == 1 {
			want.Segments = 2
		}
		if got, err := c.Deliver(t.Context(), smsMsg); err != nil || got != want {
			t.Errorf("answer %q: Deliver() = %+v, %v; want %+v", seg, got, err, want)
		}
	}
	// A failure has no receipt.
	f.reply = func(n int, w http.ResponseWriter, r *http.Request) bool {
		twilioError(w, 400, 21211, "Invalid 'To'")
		return true
	}
	if got, err := c.Deliver(t.Context(), smsMsg); err == nil || got != (mfa.Receipt{}) {
		t.Errorf("Deliver(refused) = %+v, %v; want no receipt and an error", got, err)
	}
}

// twiml is the part of TwiML a call uses.
type twiml struct {
	XMLName xml.Name `xml:"Response"`
	Pause   *struct {
		Length int `xml:"length,attr"`
	} `xml:"Pause"`
	Gather struct {
		Action    string `xml:"action,attr"`
		Method    string `xml:"method,attr"`
		NumDigits int    `xml:"numDigits,attr"`
		Timeout   int    `xml:"timeout,attr"`
		OnEmpty   string `xml:"actionOnEmptyResult,attr"`
		Say       string `xml:"Say"`
	} `xml:"Gather"`
}

func TestCall(t *testing.T) {
	f, srv := newFake(t, account, account, token)
	c := newClient(t, srv.URL, func(c *twilio.Config) {
		c.ExtensionPreDelay, c.ExtensionPostDelay, c.GatherTimeout = 2*time.Second, 3*time.Second, 12*time.Second
	})
	m := mfa.Message{Channel: mfa.ChannelVoice, To: "+15555550142", Extension: "4711", TxID: "tx-1",
		Body: "Login to <vpn> & more. Press 1 to approve. Press 9 to report fraud."}
	if err := c.Send(t.Context(), m); err != nil {
		t.Fatalf("Send(call) = %v", err)
	}
	reqs := f.all()
	if len(reqs) != 1 || reqs[0].Path != "/2010-04-01/Accounts/"+account+"/Calls.json" {
		t.Fatalf("requests = %+v", reqs)
	}
	form := reqs[0].Form
	want := map[string]string{"To": "+15555550142", "From": "+15005550006", "SendDigits": "wwww4711",
		"Timeout": "30", "TimeLimit": "60", "StatusCallbackEvent": "completed",
		"StatusCallback": "https://twostep.example.com/notify/twilio/status?kind=call&txid=tx-1"}
	for k, v := range want {
		if form.Get(k) != v {
			t.Errorf("form %s = %q, want %q", k, form.Get(k), v)
		}
	}
	var tw twiml
	if err := xml.Unmarshal([]byte(form.Get("Twiml")), &tw); err != nil {
		t.Fatalf("Twiml %q: %v", form.Get("Twiml"), err)
	}
	if tw.Pause == nil || tw.Pause.Length != 3 || tw.Gather.Action != "https://twostep.example.com/notify/twilio/gather/tx-1" ||
		tw.Gather.Method != "POST" || tw.Gather.NumDigits != 1 || tw.Gather.Timeout != 12 || tw.Gather.OnEmpty != "true" ||
		tw.Gather.Say != string(m.Body) {
		t.Errorf("TwiML = %+v", tw)
	}
	// No extension: no SendDigits, no pause.
	m.Extension = ""
	if err := c.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	r := f.all()[1]
	tw = twiml{}
	if err := xml.Unmarshal([]byte(r.Form.Get("Twiml")), &tw); err != nil || tw.Pause != nil || r.Form.Has("SendDigits") {
		t.Errorf("call without extension: %v, TwiML %+v, SendDigits %q", err, tw, r.Form.Get("SendDigits"))
	}
	for _, bad := range []string{"12a", "1;2", strings.Repeat("1", 33)} {
		m.Extension = bad
		if err := c.Send(t.Context(), m); mfa.KindOf(err) != mfa.Invalid {
			t.Errorf("Send(extension %q) = %v, want invalid", bad, err)
		}
	}
}

// TestCallPhoneDelays: a phone's own predelay/postdelay (on the message)
// replace the configured extension delays; zero means no wait at all.
func TestCallPhoneDelays(t *testing.T) {
	f, srv := newFake(t, account, account, token)
	c := newClient(t, srv.URL, func(c *twilio.Config) {
		c.ExtensionPreDelay, c.ExtensionPostDelay, c.GatherTimeout = 2*time.Second, 3*time.Second, 12*time.Second
	})
	pre, post, zero := 5*time.Second, 7*time.Second, time.Duration(0)
	tests := []struct {
		name       string
		pre, post  *time.Duration
		wantDigits string
		wantPause  int // 0: no <Pause>
	}{
		{"phone's delays", &pre, &post, "wwwwwwwwww4711", 7},
		{"zero delays", &zero, &zero, "4711", 0},
		{"pre only", &pre, nil, "wwwwwwwwww4711", 3},
		{"configured", nil, nil, "wwww4711", 3},
	}
	for i, tt := range tests {
		m := mfa.Message{Channel: mfa.ChannelVoice, To: "+15555550142", Extension: "4711", TxID: "tx-1", Body: "Press 1.",
			ExtensionPreDelay: tt.pre, ExtensionPostDelay: tt.post}
		if err := c.Send(t.Context(), m); err != nil {
			t.Fatalf("%s: Send = %v", tt.name, err)
		}
		form := f.all()[i].Form
		var tw twiml
		if err := xml.Unmarshal([]byte(form.Get("Twiml")), &tw); err != nil {
			t.Fatalf("%s: Twiml %q: %v", tt.name, form.Get("Twiml"), err)
		}
		pause := 0
		if tw.Pause != nil {
			pause = tw.Pause.Length
		}
		if form.Get("SendDigits") != tt.wantDigits || pause != tt.wantPause {
			t.Errorf("%s: SendDigits %q, pause %d; want %q, %d", tt.name, form.Get("SendDigits"), pause, tt.wantDigits, tt.wantPause)
		}
	}
	// Without an extension the phone's delays are moot: no digits, no pause.
	m := mfa.Message{Channel: mfa.ChannelVoice, To: "+15555550142", TxID: "tx-2", Body: "Press 1.",
		ExtensionPreDelay: &pre, ExtensionPostDelay: &post}
	if err := c.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	r := f.all()[len(tests)]
	var tw twiml
	if err := xml.Unmarshal([]byte(r.Form.Get("Twiml")), &tw); err != nil || tw.Pause != nil || r.Form.Has("SendDigits") {
		t.Errorf("call without extension: %v, TwiML %+v, SendDigits %q", err, tw, r.Form.Get("SendDigits"))
	}
}

// TestFailures: each failure is Unavailable naming the cause, never the
// body; transient ones (timeout, 5xx) are retried a bounded number of
// times, 4xx never.
func TestFailures(t *testing.T) {
	const secret = "9081726"
	tests := []struct {
		name      string
		reply     func(n int, w http.ResponseWriter, r *http.Request) bool
		user      string
		timeout   time.Duration
		wantErr   string
		wantTries int
		wantOK    bool
	}{
		{"500 then success", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 0 {
				twilioError(w, 500, 20500, "Internal Server Error")
				return true
			}
			return false
		}, account, 0, "", 2, true},
		{"500 always", func(n int, w http.ResponseWriter, r *http.Request) bool {
			twilioError(w, 503, 20503, "Service Unavailable")
			return true
		}, account, 0, "HTTP 503", 3, false},
		{"401 bad credentials", nil, "ACwrong", 0, "HTTP 401: error 20003: Authenticate (check the account SID", 1, false},
		{"400 bad number", func(n int, w http.ResponseWriter, r *http.Request) bool {
			twilioError(w, 400, 21211, "The 'To' number is not a valid phone number.")
			return true
		}, account, 0, "error 21211", 1, false},
		{"malformed answer", func(n int, w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(201)
			w.Write([]byte("<html>proxy error</html>"))
			return true
		}, account, 0, "malformed answer", 1, false},
		{"failed status", func(n int, w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(201)
			w.Write([]byte(`{"sid":"SM1","status":"failed"}`))
			return true
		}, account, 0, "SM1 is failed", 1, false},
		{"timeout", func(n int, w http.ResponseWriter, r *http.Request) bool {
			<-r.Context().Done() // never answers; the client gives up
			return true
		}, account, 50 * time.Millisecond, "deadline exceeded", 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFake(t, account, account, token)
			f.reply = tt.reply
			c := newClient(t, srv.URL, func(c *twilio.Config) {
				if tt.user != account {
					c.AccountSID = account
					c.AuthToken = "wrong-token"
				}
				if tt.timeout > 0 {
					c.Timeout = tt.timeout
				}
			})
			m := smsMsg
			m.Body = mfa.Passcode("codes " + secret)
			err := c.Send(t.Context(), m)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Send() = %v, want nil", err)
				}
			} else {
				if mfa.KindOf(err) != mfa.Unavailable || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Send() = %v, want unavailable containing %q", err, tt.wantErr)
				}
				var me *mfa.Error
				if !errors.As(err, &me) || me.Msg != "could not send the SMS" {
					t.Errorf("Send() message = %v, want %q", err, "could not send the SMS")
				}
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("Send() error %q shows the body", err)
				}
			}
			if n := f.count(); n != tt.wantTries {
				t.Errorf("fake got %d attempts, want %d", n, tt.wantTries)
			}
		})
	}
}

func TestNewChecks(t *testing.T) {
	_, err := twilio.New(twilio.Config{BaseURL: "ftp://x"})
	for _, want := range []string{"base URL", "account SID", "auth token", "from number"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(empty) = %v, want it to name %q", err, want)
		}
	}
	c := newClient(t, "http://127.0.0.1:1", func(c *twilio.Config) { c.From, c.MessagingServiceSID = "", "MG1" })
	err = c.Send(t.Context(), mfa.Message{Channel: mfa.ChannelVoice, To: "+15555550100", TxID: "t", Body: "x"})
	if mfa.KindOf(err) != mfa.Unavailable || !strings.Contains(err.Error(), "from number") {
		t.Errorf("call without a from number = %v", err)
	}
	if err := c.Send(t.Context(), mfa.Message{Channel: mfa.ChannelEmail, To: "a@example.com", Body: "x"}); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("Send(email) = %v, want invalid", err)
	}
}
