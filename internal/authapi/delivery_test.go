package authapi_test

import (
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	duoauth "github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestSMSDelivery: over Duo's client, a landline named as the SMS device
// is 40002 naming why, and a carrier failure is 503 telling the user to
// try another method, leaving the previous codes usable.
func TestSMSDelivery(t *testing.T) {
	f := newFixture(t)
	u := f.user("nora", mfa.StatusActive)
	ctx := t.Context()
	phone := func(number string, typ mfa.PhoneType) mfa.Phone {
		pid, _ := mfa.NewID(mfa.PrefixPhone, rand.Reader)
		p := mfa.Phone{ID: pid, Number: number, Type: typ, Created: time.Now()}
		if err := f.Store.CreatePhone(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := f.Store.AttachPhone(ctx, u.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		return p
	}
	desk := phone("+15555550150", mfa.PhoneLandline)
	mobile := phone("+15555550151", mfa.PhoneMobile)

	e := f.Call("POST", "/auth/v2/auth", url.Values{"username": {"nora"}, "factor": {"sms"}, "device": {desk.ID}})
	if e.Status != 400 || e.Code != 40002 || !strings.Contains(e.MessageDetail, "device") || !strings.Contains(e.MessageDetail, "landline") {
		t.Errorf("auth sms to a landline = %d %d %q, want 400 40002 naming the landline", e.Status, e.Code, e.MessageDetail)
	}

	e = f.Call("POST", "/auth/v2/auth", url.Values{"username": {"nora"}, "factor": {"sms"}, "device": {mobile.ID}})
	if e.Status != 200 {
		t.Fatalf("auth sms = %+v", e)
	}
	msgs := f.Notes.Messages()
	codes := strings.Fields(string(msgs[len(msgs)-1].Body))
	f.Notes.SetFail(mfa.Wrap(mfa.Unavailable, "could not send the SMS", errors.New("twilio: HTTP 500")))
	e = f.Call("POST", "/auth/v2/auth", url.Values{"username": {"nora"}, "factor": {"sms"}, "device": {mobile.ID}, "ipaddr": {"198.51.100.9"}})
	if e.Status != 503 || !strings.Contains(e.MessageDetail, "could not send the SMS passcodes; try another method") {
		t.Errorf("auth sms, carrier down = %d %q", e.Status, e.MessageDetail)
	}
	f.Notes.SetFail(nil)
	res, err := f.Duo().Auth("passcode", duoauth.AuthUsername("nora"), duoauth.AuthPasscode(codes[len(codes)-1]))
	if err != nil || res.Response.Result != "allow" {
		t.Errorf("passcode from the batch before the failed send = %+v, %v; want allow", res, err)
	}
}
