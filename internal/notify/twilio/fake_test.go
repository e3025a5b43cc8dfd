package twilio_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
)

// fakeTwilio speaks Twilio's REST wire format for Messages.json and
// Calls.json: form-encoded POSTs under /2010-04-01/Accounts/{sid}/, HTTP
// basic auth, 201 with a JSON resource, or Twilio's JSON error body.
type fakeTwilio struct {
	t       *testing.T
	account string
	user    string // basic auth user: the account SID or an API key SID
	pass    string

	mu       sync.Mutex
	requests []fakeRequest
	// reply, when set, answers request n (from 0) instead of the default.
	reply func(n int, w http.ResponseWriter, r *http.Request) bool
}

type fakeRequest struct {
	Path string
	Form url.Values
	User string
}

func newFake(t *testing.T, account, user, pass string) (*fakeTwilio, *httptest.Server) {
	f := &fakeTwilio{t: t, account: account, user: user, pass: pass}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := len(f.requests)
	f.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		twilioError(w, 405, 20004, "Method not allowed")
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, 400, 20001, "bad form")
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, fakeRequest{Path: r.URL.Path, Form: r.PostForm, User: user})
	f.mu.Unlock()
	if f.reply != nil && f.reply(n, w, r) {
		return
	}
	if !ok || user != f.user || pass != f.pass {
		twilioError(w, 401, 20003, "Authenticate")
		return
	}
	prefix := "/2010-04-01/Accounts/" + f.account + "/"
	switch r.URL.Path {
	case prefix + "Messages.json":
		if r.PostForm.Get("To") == "" || r.PostForm.Get("Body") == "" ||
			(r.PostForm.Get("From") == "") == (r.PostForm.Get("MessagingServiceSid") == "") {
			twilioError(w, 400, 21604, "A 'To' phone number, a 'Body' and exactly one of 'From' or 'MessagingServiceSid' are required.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"sid": fmt.Sprintf("SM%032d", n), "status": "queued",
			"to": r.PostForm.Get("To"), "account_sid": f.account, "num_segments": segments(r.PostForm.Get("Body"))})
	case prefix + "Calls.json":
		if r.PostForm.Get("To") == "" || r.PostForm.Get("From") == "" || (r.PostForm.Get("Twiml") == "" && r.PostForm.Get("Url") == "") {
			twilioError(w, 400, 21205, "To, From and Url or Twiml are required.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"sid": fmt.Sprintf("CA%032d", n), "status": "queued"})
	default:
		twilioError(w, 404, 20404, "The requested resource "+r.URL.Path+" was not found")
	}
}

// segments is Twilio's num_segments of body, a string as Twilio sends it:
// 160 characters in one GSM-7 segment, 153 each when split; 70 and 67 in
// UCS-2 (taken here for any non-ASCII text).
func segments(body string) string {
	n, one, many := len([]rune(body)), 160, 153
	for _, r := range body {
		if r > 127 {
			one, many = 70, 67
			break
		}
	}
	if n <= one {
		return "1"
	}
	return strconv.Itoa((n + many - 1) / many)
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func (f *fakeTwilio) all() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

func (f *fakeTwilio) count() int { return len(f.all()) }
