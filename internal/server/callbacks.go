package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/twilio"
	"github.com/twostep-auth/twostep/internal/notify/webhook"
)

// Carrier callbacks: how a call's keypress and a message's delivery
// status come back from the carrier. They are not Duo-signed and carry no
// session: each is authenticated by its carrier's signature
// (X-Twilio-Signature, or the webhook's X-Twostep-Signature), accepted
// once (the signature is claimed in the durable replay store, shared by
// every node), and bounded in size. A refused callback is logged with the
// reason and answered 403 without detail. An accepted one records the
// message's or call's delivery status in the telephony log
// (mfa.LogStore.SetTelephonyStatus, by the carrier's id).
//
//	POST /notify/twilio/gather/{txid}   TwiML <Gather> action: Digits
//	POST /notify/twilio/status          call and SMS status callbacks
//	POST /notify/webhook/keypress       the webhook carrier's keypress report

// Callbacks configures the carrier callbacks; a zero value mounts none.
type Callbacks struct {
	// PublicURL is the base URL carriers call ("https://twostep.example.com"):
	// Twilio signs the full URL it requested, which behind a proxy is not
	// what this server sees, so the URL is rebuilt from it.
	PublicURL string
	// TwilioAuthToken checks X-Twilio-Signature; empty: no Twilio routes.
	TwilioAuthToken string
	// WebhookSecret checks the keypress callback; empty: no webhook route.
	WebhookSecret string
}

// maxCallbackBytes bounds a callback's body (Twilio's are about 1-2 KB).
const maxCallbackBytes = 16 << 10

// callbackClaim is how long an accepted callback's signature is kept:
// longer than any call or retry of it lasts.
const callbackClaim = 24 * time.Hour

// Replies a call hears after its keypress.
const (
	sayApproved = "Your login was approved. Goodbye."
	sayFraud    = "The login was denied and reported as fraud. Goodbye."
	sayDenied   = "The login was denied. Goodbye."
	sayEnded    = "This login request has already ended. Goodbye."
)

type callbacks struct {
	cfg   Callbacks
	flow  *authflow.Service
	store mfa.ReplayStore
	logs  mfa.LogStore
	now   func() time.Time
	d     Deps
}

func registerCallbacks(mux *http.ServeMux, d Deps) {
	if d.Flow == nil || d.Callbacks.PublicURL == "" {
		return
	}
	cb := &callbacks{cfg: d.Callbacks, flow: d.Flow, store: d.Store, logs: d.Store, now: d.Now, d: d}
	if d.Callbacks.TwilioAuthToken != "" {
		mux.HandleFunc("POST "+twilio.GatherPath+"/{txid}", cb.twilioGather)
		mux.HandleFunc("POST "+twilio.StatusPath, cb.twilioStatus)
	}
	if d.Callbacks.WebhookSecret != "" {
		mux.HandleFunc("POST "+webhook.KeypressPath, cb.webhookKeypress)
	}
}

// refuse logs why a callback was refused and answers 403.
func (cb *callbacks) refuse(w http.ResponseWriter, r *http.Request, carrier, why string) {
	cb.d.Logger.WarnContext(r.Context(), "carrier callback refused", "carrier", carrier, "path", r.URL.Path,
		"reason", why, "remote_ip", r.RemoteAddr, "request_id", RequestID(r.Context()))
	http.Error(w, "forbidden", http.StatusForbidden)
}

// readBody reads at most maxCallbackBytes; false (answered 413) if more.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallbackBytes))
	if err != nil {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return b, true
}

// claim accepts a signature once; false when it was seen before.
func (cb *callbacks) claim(ctx context.Context, carrier, sig string) (release func(), ok bool, err error) {
	key := mfa.SignatureKey(carrier, 1, sig)
	now := cb.now()
	err = cb.store.ClaimSignature(ctx, key, now, now.Add(callbackClaim))
	if errors.Is(err, mfa.ErrConflict) || mfa.KindOf(err) == mfa.Conflict {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return func() { _ = cb.store.ReleaseSignature(context.WithoutCancel(ctx), key) }, true, nil
}

// twilioForm reads and authenticates a Twilio callback; ok false when it
// has been answered (refused).
func (cb *callbacks) twilioForm(w http.ResponseWriter, r *http.Request) (form url.Values, release func(), ok bool) {
	body, ok := readBody(w, r)
	if !ok {
		return nil, nil, false
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		cb.refuse(w, r, "twilio", "not a form")
		return nil, nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		cb.refuse(w, r, "twilio", "malformed form")
		return nil, nil, false
	}
	full := strings.TrimRight(cb.cfg.PublicURL, "/") + r.URL.RequestURI()
	sig := r.Header.Get("X-Twilio-Signature")
	if !twilio.ValidSignature(cb.cfg.TwilioAuthToken, full, form, sig) {
		cb.refuse(w, r, "twilio", "X-Twilio-Signature missing or wrong")
		return nil, nil, false
	}
	release, fresh, err := cb.claim(r.Context(), "twilio", sig)
	if err != nil {
		cb.d.Logger.ErrorContext(r.Context(), "carrier callback: replay store", "error", err)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return nil, nil, false
	}
	if !fresh {
		cb.refuse(w, r, "twilio", "replayed (signature already used)")
		return nil, nil, false
	}
	return form, release, true
}

func (cb *callbacks) twilioGather(w http.ResponseWriter, r *http.Request) {
	form, release, ok := cb.twilioForm(w, r)
	if !ok {
		return
	}
	txid := r.PathValue("txid")
	digits := form.Get("Digits")
	var err error
	if digits == "" {
		err = cb.flow.EndCall(r.Context(), txid, authflow.CallHangUp)
	} else {
		err = cb.flow.AnswerCall(r.Context(), txid, digits[:1])
	}
	if err == nil {
		// Best effort: the status callback records the final one.
		cb.setStatus(r.Context(), "twilio", form.Get("CallSid"), form.Get("CallStatus"))
	}
	say := sayDenied
	switch {
	case err == nil && digits == "1":
		say = sayApproved
	case err == nil && digits == "9":
		say = sayFraud
	case mfa.KindOf(err) == mfa.NotFound:
		cb.refuse(w, r, "twilio", "unknown call")
		return
	case err != nil && (mfa.KindOf(err) == mfa.Invalid || mfa.KindOf(err) == mfa.Conflict):
		say = sayEnded // answered, timed out or hung up already
	case err != nil:
		release()
		cb.d.Logger.ErrorContext(r.Context(), "twilio gather", "txid", txid, "error", err)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, twilio.Reply(say))
}

// callEnds maps Twilio's final CallStatus to how a call ended; a call
// that completed after its keypress finds its transaction ended already.
var callEnds = map[string]authflow.CallEnd{
	"completed": authflow.CallHangUp,
	"no-answer": authflow.CallNoAnswer,
	"busy":      authflow.CallBusy,
	"failed":    authflow.CallFailed,
	"canceled":  authflow.CallFailed,
}

// setStatus records a carrier's status of the message or call
// carrierID in the telephony log. A status for no record (a message
// `twostepd delivery test` sent, a record not yet written) or a word the
// lifecycle does not know is logged and ignored; false only when the store
// failed.
func (cb *callbacks) setStatus(ctx context.Context, carrier, carrierID, status string) bool {
	if carrierID == "" || status == "" {
		return true
	}
	err := cb.logs.SetTelephonyStatus(ctx, carrierID, status)
	if err == nil {
		return true
	}
	switch mfa.KindOf(err) {
	case mfa.NotFound, mfa.Invalid:
		cb.d.Logger.InfoContext(ctx, "telephony status not recorded", "carrier", carrier, "carrier_id", carrierID,
			"status", status, "reason", err.Error())
		return true
	}
	cb.d.Logger.ErrorContext(ctx, "telephony status", "carrier", carrier, "carrier_id", carrierID, "error", err)
	return false
}

func (cb *callbacks) twilioStatus(w http.ResponseWriter, r *http.Request) {
	form, release, ok := cb.twilioForm(w, r)
	if !ok {
		return
	}
	log := cb.d.Logger
	recorded := true
	switch r.URL.Query().Get("kind") {
	case "call":
		txid := r.URL.Query().Get("txid")
		status := form.Get("CallStatus")
		recorded = cb.setStatus(r.Context(), "twilio", form.Get("CallSid"), status)
		end, final := callEnds[status]
		if !final {
			break
		}
		err := cb.flow.EndCall(r.Context(), txid, end)
		switch {
		case err == nil:
			log.InfoContext(r.Context(), "call ended", "txid", txid, "call_status", status)
		case mfa.KindOf(err) == mfa.Conflict || mfa.KindOf(err) == mfa.NotFound:
			// answered already (the usual end), or reaped
		default:
			release()
			log.ErrorContext(r.Context(), "twilio call status", "txid", txid, "error", err)
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
	case "sms":
		st := form.Get("MessageStatus")
		attrs := []any{"message_sid", form.Get("MessageSid"), "message_status", st}
		if st == "failed" || st == "undelivered" {
			log.WarnContext(r.Context(), "SMS not delivered", append(attrs, "error_code", form.Get("ErrorCode"))...)
		} else {
			log.InfoContext(r.Context(), "SMS status", attrs...)
		}
		recorded = cb.setStatus(r.Context(), "twilio", form.Get("MessageSid"), st)
	}
	if !recorded {
		release() // Twilio may send it again
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (cb *callbacks) webhookKeypress(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	sig := r.Header.Get(webhook.SignatureHeader)
	if err := webhook.Verify(cb.cfg.WebhookSecret, r.Header.Get(webhook.TimestampHeader), sig, body, cb.now()); err != nil {
		cb.refuse(w, r, "webhook", err.Error())
		return
	}
	var k webhook.Keypress
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k); err != nil || k.CallID == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"call_id\": ..., \"key\": \"1\"|\"9\"} or {\"call_id\": ..., \"status\": \"hangup\"|\"no-answer\"|\"busy\"|\"failed\"}"})
		return
	}
	end, isEnd := authflow.ParseCallEnd(k.Status)
	if (k.Key == "") == (k.Status == "") || (k.Key != "" && len(k.Key) != 1) || (k.Status != "" && !isEnd) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "give exactly one of key (one character) and status (hangup, no-answer, busy, failed)"})
		return
	}
	release, fresh, err := cb.claim(r.Context(), "webhook", sig)
	if err != nil {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if !fresh {
		cb.refuse(w, r, "webhook", "replayed (signature already used)")
		return
	}
	if isEnd {
		err = cb.flow.EndCall(r.Context(), k.CallID, end)
	} else {
		err = cb.flow.AnswerCall(r.Context(), k.CallID, k.Key)
	}
	switch {
	case err == nil:
		// The call's outcome in Twilio's words for the telephony log
		// (best effort: the keypress is recorded either way).
		status := k.Status
		if !isEnd || status == "hangup" {
			status = "completed"
		}
		cb.setStatus(r.Context(), "webhook", k.CallID, status)
		writeJSON(w, http.StatusOK, map[string]string{"result": "recorded"})
	case mfa.KindOf(err) == mfa.NotFound:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown call_id"})
	case mfa.KindOf(err) == mfa.Invalid || mfa.KindOf(err) == mfa.Conflict:
		writeJSON(w, http.StatusConflict, map[string]string{"error": "the call has already ended"})
	default:
		release()
		cb.d.Logger.ErrorContext(r.Context(), "webhook keypress", "call_id", k.CallID, "error", err)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
