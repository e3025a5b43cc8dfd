package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/duosecurity/duo_api_golang/authapi"
)

// outboxRun runs `twostepd outbox ...` on in's data directory.
func outboxRun(t *testing.T, in *instance, args ...string) (string, error) {
	t.Helper()
	var o, e bytes.Buffer
	full := append([]string{"outbox", "--data", in.data, "--log-format", "json"}, args...)
	err := run(context.Background(), full, func(string) string { return "" }, strings.NewReader(""), &o, &e)
	if err != nil {
		return o.String(), fmt.Errorf("%w (stderr: %s)", err, e.String())
	}
	return o.String(), nil
}

// outboxList reads `twostepd outbox --json`.
func outboxList(t *testing.T, in *instance) []outboxJSON {
	t.Helper()
	out, err := outboxRun(t, in, "--json")
	if err != nil {
		t.Fatalf("outbox --json: %v", err)
	}
	var got []outboxJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("outbox --json printed %q: %v", out, err)
	}
	return got
}

// TestCallFlowThroughOutbox is the whole phone-call login on one machine:
// Duo's Auth API client asks for factor phone on a landline, the call lands
// in the outbox, `twostepd outbox answer` presses a key (or hangs up, or
// lets it ring out), and auth_status reports the matching result; each
// call leaves one auth log record with Duo's reason.
func TestCallFlowThroughOutbox(t *testing.T) {
	in := startServe(t, nil)
	a := adminE2E{t, in}
	a.ok("user", "add", "lena")
	a.ok("phone", "add", "lena", "+15555550142", "--type", "landline", "--extension", "4711")
	creds, _ := readCredentials(t, in.data)
	client := duoClient(creds.APIHost, creds.AuthAPI.IKey, creds.AuthAPI.SKey, trustCA(t, creds.CAFile))

	tests := []struct {
		key        string
		wantResult string
		wantStatus string
		wantMsg    string
		wantReason string
	}{
		{"1", "allow", "allow", "Success", "user_approved"},
		{"9", "deny", "fraud", "fraudulent", "user_marked_fraud"},
		{"hangup", "deny", "deny", "without a keypress", "no_keys_pressed"},
		{"no-answer", "deny", "timeout", "not answered", "no_response"},
	}
	for i, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			res, err := client.Auth("phone", authapi.AuthUsername("lena"), authapi.AuthDevice("auto"), authapi.AuthAsync(),
				authapi.AuthIpAddr(fmt.Sprintf("198.51.100.%d", 40+i)))
			if err != nil || res.Stat != "OK" || res.Response.Txid == "" {
				t.Fatalf("Auth(phone, async) = %+v, %v", res, err)
			}
			txid := res.Response.Txid
			var call *outboxJSON
			msgs := outboxList(t, in)
			for i := range msgs {
				if msgs[i].CallID == txid {
					call = &msgs[i]
				}
			}
			if call == nil || call.Kind != "phone" || call.To != "+15555550142" || call.Extension != "4711" ||
				!strings.Contains(call.Text, "Press 1 to approve") || call.Time.IsZero() {
				t.Fatalf("outbox --json = %+v, want a phone call to +15555550142 ext. 4711 with call_id %s", msgs, txid)
			}
			// The human listing names the call and how to answer it.
			if out, err := outboxRun(t, in); err != nil || !strings.Contains(out, "outbox answer "+txid) {
				t.Errorf("outbox = %q, %v; want the answer command for %s", out, err, txid)
			}
			out, err := outboxRun(t, in, "answer", txid, tt.key)
			if err != nil {
				t.Fatalf("outbox answer %s %s: %v", txid, tt.key, err)
			}
			if !strings.Contains(out, txid) {
				t.Errorf("outbox answer printed %q", out)
			}
			var st *authapi.AuthStatusResult
			deadline := time.Now().Add(30 * time.Second)
			for {
				st, err = client.AuthStatus(txid)
				if err != nil || st.Stat != "OK" {
					t.Fatalf("AuthStatus = %+v, %v", st, err)
				}
				if st.Response.Result != "waiting" || time.Now().After(deadline) {
					break
				}
			}
			if st.Response.Result != tt.wantResult || st.Response.Status != tt.wantStatus || !strings.Contains(st.Response.Status_Msg, tt.wantMsg) {
				t.Errorf("AuthStatus after %s = %s/%s %q, want %s/%s containing %q", tt.key, st.Response.Result,
					st.Response.Status, st.Response.Status_Msg, tt.wantResult, tt.wantStatus, tt.wantMsg)
			}
			// A second answer is refused: the call has ended.
			if _, err := outboxRun(t, in, "answer", txid, "1"); err == nil || !strings.Contains(err.Error(), "already ended") {
				t.Errorf("second outbox answer = %v, want already ended", err)
			}
			logs := a.ok("logs", "auth", "--since", "1h", "--user", "lena")
			var n int
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, txid) {
					n++
					if !strings.Contains(line, "phone_call") || !strings.Contains(line, tt.wantReason) {
						t.Errorf("auth log record %q, want phone_call and %s", line, tt.wantReason)
					}
				}
			}
			if n != 1 {
				t.Errorf("auth log holds %d records of %s, want 1:\n%s", n, txid, logs)
			}
		})
	}
	// The fraud report emailed nobody (no fraud address set) and no call was
	// answered twice; unknown calls and keys are refused clearly.
	if _, err := outboxRun(t, in, "answer", "TXnosuchcall", "1"); err == nil || !strings.Contains(err.Error(), "no call TXnosuchcall") {
		t.Errorf("outbox answer unknown = %v", err)
	}
	if _, err := outboxRun(t, in, "answer", "TX1", "5"); err == nil || exitCode(err) != 2 {
		t.Errorf("outbox answer key 5 = %v, want a usage error", err)
	}
}

// TestOutboxFollow: --follow prints what is there and what arrives, until
// the context ends.
func TestOutboxFollow(t *testing.T) {
	in := startServe(t, nil)
	a := adminE2E{t, in}
	a.ok("user", "add", "max")
	a.ok("phone", "add", "max", "+15555550143")
	creds, _ := readCredentials(t, in.data)
	client := duoClient(creds.APIHost, creds.AuthAPI.IKey, creds.AuthAPI.SKey, trustCA(t, creds.CAFile))

	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"outbox", "--data", in.data, "--follow", "--json", "--poll", "20ms"},
			func(string) string { return "" }, strings.NewReader(""), pw, newLogSink())
		pw.CloseWithError(err)
		done <- err
	}()
	res, err := client.Auth("sms", authapi.AuthUsername("max"), authapi.AuthDevice("auto"))
	if err != nil || res.Response.Status != "sent" {
		t.Fatalf("Auth(sms) = %+v, %v", res, err)
	}
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("outbox --follow printed nothing: %v", sc.Err())
	}
	line := sc.Text()
	cancel()
	go io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		t.Fatalf("outbox --follow = %v", err)
	}
	var m outboxJSON
	if err := json.Unmarshal([]byte(line), &m); err != nil || m.Kind != "sms" || m.To != "+15555550143" ||
		len(strings.Fields(m.Text)) < 2 || m.Time.IsZero() {
		t.Errorf("outbox --follow printed %q (%v), want an SMS object line with the codes", line, err)
	}
}
