package authapi_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// preauthPrompt is the part of a preauth answer duo_unix 2.2+ reads with
// text_prompt=1.
type preauthPrompt struct {
	Result    string `json:"result"`
	StatusMsg string `json:"status_msg"`
	Prompt    *struct {
		Text    *string            `json:"text"`
		Factors *map[string]string `json:"factors"`
	} `json:"prompt"`
}

func TestPreauthTextPrompt(t *testing.T) {
	f := newFixture(t)
	f.app(f.user("alice", mfa.StatusActive), []byte("12345678901234567890"), false)
	f.user("erin", mfa.StatusActive) // no device
	f.user("carol", mfa.StatusDisabled)

	preauth := func(p url.Values) preauthPrompt {
		t.Helper()
		r := f.Call("POST", "/auth/v2/preauth", p)
		var got preauthPrompt
		if r.Status != 200 || json.Unmarshal(r.Response, &got) != nil {
			t.Fatalf("preauth %v = %d %s", p, r.Status, r.Response)
		}
		return got
	}

	got := preauth(url.Values{"username": {"alice"}, "text_prompt": {"1"}})
	if got.Result != "auth" || got.Prompt == nil || got.Prompt.Text == nil || got.Prompt.Factors == nil {
		t.Fatalf("preauth(alice, text_prompt) = %+v, want result auth with prompt.text and prompt.factors", got)
	}
	wantText := "Duo two-factor login for alice\n\n" +
		"Enter a passcode or select one of the following options:\n\n" +
		" 1. Push to Alice's phone (XXX-XXX-0100)\n" +
		" 2. Phone call to Alice's phone (XXX-XXX-0100)\n" +
		" 3. SMS passcodes to Alice's phone (XXX-XXX-0100)\n\n" +
		"Passcode or option (1-3): "
	if diff := cmp.Diff(wantText, *got.Prompt.Text); diff != "" {
		t.Errorf("prompt.text mismatch (-want +got):\n%s", diff)
	}
	wantFactors := map[string]string{"default": "push1", "1": "push1", "2": "phone1", "3": "sms1"}
	if diff := cmp.Diff(wantFactors, *got.Prompt.Factors); diff != "" {
		t.Errorf("prompt.factors mismatch (-want +got):\n%s", diff)
	}

	if got := preauth(url.Values{"username": {"alice"}}); got.Prompt != nil {
		t.Errorf("preauth(alice) without text_prompt has prompt %+v", got.Prompt)
	}
	if got := preauth(url.Values{"username": {"alice"}, "text_prompt": {"0"}}); got.Prompt != nil {
		t.Errorf("preauth(alice, text_prompt=0) has prompt %+v", got.Prompt)
	}

	for _, name := range []string{"erin", "nobody"} {
		got := preauth(url.Values{"username": {name}, "text_prompt": {"1"}})
		if got.Result != "enroll" || got.Prompt == nil || got.Prompt.Text == nil || *got.Prompt.Text != got.StatusMsg ||
			got.Prompt.Factors != nil {
			t.Errorf("preauth(%s, text_prompt) = %+v, want result enroll with prompt.text = status_msg", name, got)
		}
	}
	if got := preauth(url.Values{"username": {"carol"}, "text_prompt": {"1"}}); got.Result != "deny" || got.Prompt != nil {
		t.Errorf("preauth(carol, text_prompt) = %+v, want deny without prompt", got)
	}
}
