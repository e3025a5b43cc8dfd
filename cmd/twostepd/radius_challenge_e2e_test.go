package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/deviceclient"
)

// TestRadiusChallengeModeRadclient: the first request gets Access-Challenge
// with Duo's menu and a State; the answer with that State logs in; the
// State is refused the second time, and when tampered with; an option
// number sends a push that the twostep app approves.
func TestRadiusChallengeModeRadclient(t *testing.T) {
	needProgram(t, "radclient", "freeradius-utils")
	needProgram(t, "oathtool", "oathtool")
	rs := startRadiusServe(t, `
[[radius.clients]]
name = "vpn-challenge"
networks = ["127.0.0.1/32"]
secret = "`+radiusSecret+`"
mode = "challenge"
`, nil)
	secret := rs.hotpUser("dave")
	phone := jsonOf[map[string]any](t, rs.a.ok("phone", "add", "dave", "+15555550191", "--json", "--name", "dave's phone"))
	pid, _ := phone["phone_id"].(string)
	act := jsonOf[struct {
		URL string `json:"activation_url"`
	}](t, rs.a.ok("phone", "activate", pid, "--json"))
	dev := activateDevice(t, act.URL, trustCA(t, rs.creds.CAFile))

	start := func() radclientReply {
		t.Helper()
		r := rs.radclient(radiusSecret, true, "User-Name = dave", `User-Password = "x"`)
		if r.Code != "Access-Challenge" || r.State == "" {
			t.Fatalf("first request = %q, want Access-Challenge with a State:\n%s", r.Code, r.Out)
		}
		return r
	}
	answer := func(state, text string) radclientReply {
		t.Helper()
		return rs.radclient(radiusSecret, true, "User-Name = dave", `User-Password = "`+text+`"`, "State = "+state)
	}

	c := start()
	for _, want := range []string{"Enter a passcode or select one of the following options:", " 1. Push to dave's phone (XXX-XXX-0191)", "Passcode or option (1-"} {
		if !strings.Contains(c.Out, want) {
			t.Errorf("challenge menu lacks %q:\n%s", want, c.Out)
		}
	}
	if r := answer(c.State, oathHOTP(t, secret, 0)); r.Code != "Access-Accept" {
		t.Fatalf("answer with the State = %q, want Access-Accept:\n%s", r.Code, r.Out)
	}
	// The State again, with a fresh valid code: refused, the code unspent.
	if r := answer(c.State, oathHOTP(t, secret, 1)); r.Code != "Access-Reject" || !strings.Contains(r.Out, "expired or was already answered") {
		t.Errorf("the State a second time = %q, want Access-Reject:\n%s", r.Code, r.Out)
	}
	// A tampered State is refused.
	c = start()
	last := c.State[len(c.State)-1]
	flipped := "0"
	if last == '0' {
		flipped = "1"
	}
	if r := answer(c.State[:len(c.State)-1]+flipped, oathHOTP(t, secret, 1)); r.Code != "Access-Reject" {
		t.Errorf("a tampered State = %q, want Access-Reject:\n%s", r.Code, r.Out)
	}
	if r := answer(c.State, oathHOTP(t, secret, 1)); r.Code != "Access-Accept" {
		t.Errorf("the untampered State with the unspent code = %q, want Access-Accept:\n%s", r.Code, r.Out)
	}

	// Option 1: a push, approved in the app.
	c = start()
	approved := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		txs, err := dev.Transactions(ctx, 30*time.Second)
		if err == nil && len(txs) != 1 {
			err = fmt.Errorf("%d pending requests, want 1", len(txs))
		}
		if err == nil {
			err = dev.Answer(ctx, txs[0].ID(), deviceclient.Answer{Approve: true})
		}
		approved <- err
	}()
	r := answer(c.State, "1")
	if err := <-approved; err != nil {
		t.Fatalf("approving in the app: %v", err)
	}
	if r.Code != "Access-Accept" {
		t.Errorf("option 1 (push) = %q, want Access-Accept:\n%s", r.Code, r.Out)
	}
	recs := rs.authLog("dave")
	var factors []string
	for _, rec := range recs {
		factors = append(factors, rec.Factor+"/"+rec.Result+"/"+rec.Application.Name)
	}
	if got := strings.Join(factors, " "); got != "duo_push/success/vpn-challenge hardware_token/success/vpn-challenge hardware_token/success/vpn-challenge" {
		t.Errorf("auth log (newest first) = %s", got)
	}
}

// TestRadiusAutoModeRadclient: in auto mode a password field without a
// factor pushes to the user's first device and waits for the app.
func TestRadiusAutoModeRadclient(t *testing.T) {
	needProgram(t, "radclient", "freeradius-utils")
	rs := startRadiusServe(t, `
[[radius.clients]]
name = "vpn-auto"
networks = ["127.0.0.1/32"]
secret = "`+radiusSecret+`"
mode = "auto"
timeout = "30s"
`, nil)
	rs.a.ok("user", "add", "erin")
	phone := jsonOf[map[string]any](t, rs.a.ok("phone", "add", "erin", "+15555550192", "--json"))
	pid, _ := phone["phone_id"].(string)
	act := jsonOf[struct {
		URL string `json:"activation_url"`
	}](t, rs.a.ok("phone", "activate", pid, "--json"))
	dev := activateDevice(t, act.URL, trustCA(t, rs.creds.CAFile))
	for _, approve := range []bool{true, false} {
		answered := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			txs, err := dev.Transactions(ctx, 30*time.Second)
			if err == nil && len(txs) != 1 {
				err = fmt.Errorf("%d pending requests, want 1", len(txs))
			}
			if err == nil {
				err = dev.Answer(ctx, txs[0].ID(), deviceclient.Answer{Approve: approve})
			}
			answered <- err
		}()
		r := rs.radclient(radiusSecret, true, "User-Name = erin", `User-Password = "anything"`)
		if err := <-answered; err != nil {
			t.Fatalf("answering in the app: %v", err)
		}
		want := map[bool]string{true: "Access-Accept", false: "Access-Reject"}[approve]
		if r.Code != want {
			t.Errorf("auto mode, app approves=%v: %q, want %s:\n%s", approve, r.Code, want, r.Out)
		}
	}
}
