package adminapi_test

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/outbox"
	"github.com/twostep-auth/twostep/internal/web"
)

// TestEnrollThroughOutbox runs the development stack end to end: the Admin
// API sends through the outbox, and the links in the messages open
// internal/web's pages, whose QR code decodes to a code the store redeems.
func TestEnrollThroughOutbox(t *testing.T) {
	f := newFixture(t)
	ob, err := outbox.New(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	admin.WithNotifier(ob)(f.Svc)
	admin.WithPublicHost(f.Host)(f.Svc)
	mux := http.NewServeMux()
	web.New(web.Deps{}).Register(mux)
	pages := httptest.NewServer(mux)
	t.Cleanup(pages.Close)

	// follow opens a link's path on the pages server and returns the code
	// its page shows, checking that its QR code holds the same code.
	follow := func(link string) string {
		t.Helper()
		u, err := url.Parse(link)
		if err != nil || u.Host != f.Host || !strings.HasPrefix(u.Path, "/activate/") {
			t.Fatalf("link %q is not https://%s/activate/...", link, f.Host)
		}
		body := fetch(t, pages.URL+u.EscapedPath())
		m := regexp.MustCompile(`<input id="code"[^>]* value="([^"]*)"`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("activation page shows no code:\n%s", body)
		}
		code := html.UnescapeString(string(m[1]))
		src := regexp.MustCompile(`<img class="qr"[^>]*src="([^"]*)"`).FindSubmatch(body)
		// The app's decoder: gozxing's detector alone misreads about one
		// generated code in 200.
		text, err := deviceclient.DecodeQR(bytes.NewReader(fetch(t, pages.URL+html.UnescapeString(string(src[1])))))
		if err != nil || text != code {
			t.Fatalf("the page's QR code = %q, %v; want %q", text, err, code)
		}
		return code
	}
	redeem := func(full string) mfa.Activation {
		t.Helper()
		code, host, err := admin.ParseActivationCode(full)
		if err != nil || host != f.Host {
			t.Fatalf("ParseActivationCode(%q) = %q, %v; want host %s", full, host, err, f.Host)
		}
		a, err := f.Store.RedeemActivation(t.Context(), mfa.Passcode(code), time.Now())
		if err != nil {
			t.Fatalf("RedeemActivation = %v", err)
		}
		return a
	}
	linkRE := regexp.MustCompile(`https://\S+/activate/\S+`)

	// Enrollment by email.
	f.OK(f.Call(f.Key, "POST", "/admin/v1/users/enroll", url.Values{"username": {"erin"}, "email": {"erin@example.com"}, "valid_secs": {"3600"}}), nil)
	mail, ok, err := ob.Last("erin@example.com")
	if err != nil || !ok || mail.Channel != mfa.ChannelEmail || mail.Subject != "Enroll in twostep" || mail.Context != "enrollment" {
		t.Fatalf("outbox has %+v, %v, %v; want the enrollment email", mail, ok, err)
	}
	full := follow(linkRE.FindString(string(mail.Body)))
	if !strings.Contains(string(mail.Body), "twostep activate "+full) {
		t.Errorf("email lacks the command for the code:\n%s", mail.Body)
	}
	erin, _ := f.Store.GetUserByName(t.Context(), "erin")
	if a := redeem(full); a.UserID != erin.ID || a.PhoneID != "" || a.Expires.Sub(a.Created) != time.Hour {
		t.Errorf("activation = %+v; want erin's, no phone, valid an hour", a)
	}

	// Activation by SMS.
	phoneID := apiPhone(f, "+15555550177", erin.ID)
	f.OK(f.Call(f.Key, "POST", "/admin/v1/phones/"+phoneID+"/send_sms_activation", nil), nil)
	sms, ok, err := ob.Last("+15555550177")
	if err != nil || !ok || sms.Channel != mfa.ChannelSMS {
		t.Fatalf("outbox has %+v, %v, %v; want the activation SMS", sms, ok, err)
	}
	if a := redeem(follow(linkRE.FindString(string(sms.Body)))); a.UserID != erin.ID || a.PhoneID != phoneID {
		t.Errorf("activation = %+v; want erin's phone", a)
	}
}

func fetch(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", u, resp.StatusCode, b)
	}
	return b
}
