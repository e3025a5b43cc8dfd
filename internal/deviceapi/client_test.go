package deviceapi_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestDeviceClient drives the server with our own app's client library,
// next to the hand-written requests of the other tests, and checks that
// the two see the same requests.
func TestDeviceClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user("alice")
	full := f.code(u, "", time.Now().Add(time.Hour)) + "-" + base64.RawStdEncoding.EncodeToString([]byte(f.Host))
	code, err := deviceclient.ParseActivation("duo://" + full)
	if err != nil {
		t.Fatal(err)
	}
	if code.Host != f.Host {
		t.Fatalf("ParseActivation host = %q, want %q", code.Host, f.Host)
	}
	c, err := deviceclient.New(deviceclient.Config{Host: code.Host, RootCAs: f.Pool, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	key := testKey(t, 0)
	act, err := c.Activate(t.Context(), code, key, deviceclient.DeviceInfo{Model: "CLI"})
	if err != nil {
		t.Fatalf("Activate = %v", err)
	}
	if act.Username != "alice" || act.UserID != u.ID || act.CustomerName != customer || act.APIHost != f.Host ||
		act.HOTPCounter != 0 || act.UseTOTP || !hotpSecretRE.MatchString(act.HOTPSecret) {
		t.Errorf("activation = %+v", *act)
	}
	if _, err := c.Activate(t.Context(), code, key, deviceclient.DeviceInfo{}); !isCode(err, deviceclient.CodeUnknownActivation) {
		t.Errorf("second Activate = %v, want code 40403", err)
	}
	dev := c.Device(act.PKey, act.AKey, key)
	raw := &device{PKey: act.PKey, AKey: act.AKey, Key: key}

	// A long poll that a push ends.
	pushed := make(chan authflow.AuthResult, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		res, err := f.Flow.Auth(context.Background(), f.pushReq(u))
		if err != nil {
			t.Errorf("Auth(push) = %v", err)
		}
		pushed <- res
	}()
	txs, err := dev.Transactions(t.Context(), 10*time.Second)
	if err != nil {
		t.Fatalf("Transactions = %v", err)
	}
	res := <-pushed
	if len(txs) != 1 || txs[0].ID() != res.TxID || txs[0].Type != "Transfer request" || txs[0].Username != "Alice A." {
		t.Fatalf("Transactions = %+v, want the push %s", txs, res.TxID)
	}
	if hand := f.list(raw, 0); len(hand) != 1 || hand[0].TxID != txs[0].TxID || hand[0].Summary != txs[0].Summary {
		t.Errorf("hand-written client sees %+v, deviceclient %+v", hand, txs)
	}
	if err := dev.Answer(t.Context(), txs[0].ID(), deviceclient.Answer{Approve: true}); err != nil {
		t.Fatalf("Answer(approve) = %v", err)
	}
	if st := f.status(res.TxID); st.Result != authflow.ResultAllow {
		t.Errorf("auth status = %+v, want allow", st)
	}
	if err := dev.Answer(t.Context(), txs[0].ID(), deviceclient.Answer{}); !isCode(err, deviceclient.CodeBadRequest) {
		t.Errorf("second Answer = %v, want code 40002", err)
	}

	// Verified Push: a wrong code is IsIncorrectCode and the request stays.
	f.settings(func(s *mfa.Settings) { s.VerifiedPush = true })
	res = f.push(u, func(r *authflow.AuthRequest) { r.VerifiedPush = true })
	txs, err = dev.Transactions(t.Context(), 0)
	if err != nil || len(txs) != 1 || txs[0].StepUpDigits() != 3 {
		t.Fatalf("Transactions = %+v, %v, want one Verified Push with 3 digits", txs, err)
	}
	err = dev.Answer(t.Context(), res.TxID, deviceclient.Answer{Approve: true, StepUpCode: "xyz"})
	if !deviceclient.IsIncorrectCode(err) {
		t.Errorf("Answer(wrong code) = %v, want IsIncorrectCode", err)
	}
	if err := dev.Answer(t.Context(), res.TxID, deviceclient.Answer{Approve: true, StepUpCode: res.VerificationCode}); err != nil {
		t.Errorf("Answer(right code) = %v", err)
	}

	// Reactivation elsewhere: the client sees IsRevoked.
	phones, err := f.Store.UserPhones(t.Context(), u.ID)
	if err != nil || len(phones) != 1 {
		t.Fatalf("UserPhones = %+v, %v", phones, err)
	}
	cur := f.activate(f.code(u, phones[0].ID, time.Now().Add(time.Hour)), 1)
	if _, err := dev.Transactions(t.Context(), 0); !deviceclient.IsRevoked(err) {
		t.Errorf("Transactions after reactivation = %v, want IsRevoked", err)
	}

	// Deregistering: the replaced install cannot; the current one can, once.
	if err := dev.Deregister(t.Context()); !deviceclient.IsRevoked(err) {
		t.Errorf("Deregister of the replaced install = %v, want IsRevoked", err)
	}
	curDev := c.Device(cur.PKey, cur.AKey, cur.Key)
	if err := curDev.Deregister(t.Context()); err != nil {
		t.Fatalf("Deregister = %v", err)
	}
	if f.pushCapable(u, phones[0].ID) {
		t.Error("preauth still offers push after Deregister")
	}
	if err := curDev.Deregister(t.Context()); !deviceclient.IsRevoked(err) {
		t.Errorf("second Deregister = %v, want IsRevoked", err)
	}
}

func isCode(err error, code int) bool {
	var de *deviceclient.Error
	return errors.As(err, &de) && de.Code == code
}
