package authapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// The legacy Auth API v1 (/rest/v1/*), as duo_unix 1.11.3 (Debian 12's
// login-duo and libpam-duo) speaks it: v1 signatures, parameters user,
// ipaddr, factor=auto&auto=<what the user typed>, async; answers as BSON
// (.bson) or JSON (.json) with a "status" text where v2 has status_msg.
//
// Passcodes and SMS passcodes are served. The prompt asks for a passcode
// and lists one "SMS passcodes to ..." option per phone that can receive
// SMS (factors "1":"sms1", ... where smsN is the Nth device of preauth's
// list); choosing it sends a new batch and is denied with "New SMS
// passcodes sent", so the client prompts again. Push and call are not
// listed; choosing them (or the default factor, which autopush mode sends)
// is denied with a status that says so. With async=1 the client insists on a txid and polls
// status.bson, so an async passcode decision is stored as an already
// completed transaction and status answers it.

// legacyTxLifetime is how long status answers a completed legacy txid.
const legacyTxLifetime = 5 * time.Minute

// legacyDefaultFactor is the factors.default value: autopush mode sends it
// as auto=, and it cannot work until push is served.
const legacyDefaultFactor = "passcode"

// MsgLegacyFactorUnavailable is the status for a factor that is not served.
const MsgLegacyFactorUnavailable = "This login method is not available yet. Enter a passcode from your authenticator app or hardware token instead."

// MsgLegacySMSUnavailable is the status when SMS passcodes could not be
// sent.
const MsgLegacySMSUnavailable = "Could not send SMS passcodes. Please try again later or enter a passcode."

// msgLegacyEmptyPasscode is the status for an empty answer.
const msgLegacyEmptyPasscode = "No passcode entered. Please enter a passcode."

// oobFactor matches the factor names Duo advertises in a legacy prompt
// (push1, phone2, sms1, ...) and the words a client may send for them; a
// typed passcode (digits, or a YubiKey OTP in modhex) never matches.
// SMS keywords (sms, sms2) are not matched: the engine sends SMS passcodes
// for them.
var oobFactor = regexp.MustCompile(`^(?i:(push|phone)[0-9]*|auto|passcode)$`)

// TxStore keeps the completed transactions of async legacy auths.
type TxStore interface {
	CreateTransaction(ctx context.Context, tx mfa.Transaction) error
	GetTransaction(ctx context.Context, id string) (mfa.Transaction, error)
}

type legacyPreauthResponse struct {
	Result  string            `json:"result" bson:"result"`
	Status  string            `json:"status,omitempty" bson:"status,omitempty"`
	Prompt  string            `json:"prompt,omitempty" bson:"prompt,omitempty"`
	Factors map[string]string `json:"factors,omitempty" bson:"factors,omitempty"`
}

type legacyAuthResponse struct {
	Result string `json:"result" bson:"result"`
	Status string `json:"status" bson:"status"`
}

type legacyTxidResponse struct {
	TxID string `json:"txid" bson:"txid"`
}

type legacyStatusResponse struct {
	Status string `json:"status" bson:"status"`
	Result string `json:"result,omitempty" bson:"result,omitempty"`
}

// registerLegacy adds the /rest/v1 routes.
func (h *Handler) registerLegacy(mux *http.ServeMux) {
	for _, ext := range []string{"json", "bson"} {
		mux.Handle("POST /rest/v1/preauth."+ext, h.legacy(h.legacyPreauth))
		mux.Handle("POST /rest/v1/auth."+ext, h.legacy(h.legacyAuth))
		mux.Handle("GET /rest/v1/status."+ext, h.legacy(h.legacyStatus))
	}
}

// writeOK writes response in the format the path asks for.
func writeOK(w http.ResponseWriter, r *http.Request, response any) {
	if isBSON(r) {
		duoproto.WriteOKBSON(w, response)
		return
	}
	duoproto.WriteOK(w, response)
}

func isBSON(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, ".bson") }

// legacy adapts a handler like Surface.Handle, and rewrites the JSON error
// envelope that Surface writes (for a bad signature, a wrong integration
// type or a returned error) as BSON on .bson paths. Surface keeps deciding
// the code and logging internal errors.
func (h *Handler) legacy(fn api.HandlerFunc) http.Handler {
	inner := h.surface.Handle(fn)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isBSON(r) {
			inner.ServeHTTP(w, r)
			return
		}
		bw := &bsonErrorWriter{ResponseWriter: w}
		inner.ServeHTTP(bw, r)
		bw.finish()
	})
}

// bsonErrorWriter passes everything through except a JSON failure, which
// it buffers and re-encodes as BSON in finish.
type bsonErrorWriter struct {
	http.ResponseWriter
	status  int
	capture bool
	buf     bytes.Buffer
}

func (b *bsonErrorWriter) WriteHeader(status int) {
	if status >= 400 && strings.HasPrefix(b.Header().Get("Content-Type"), "application/json") {
		b.status, b.capture = status, true
		return
	}
	b.ResponseWriter.WriteHeader(status)
}

func (b *bsonErrorWriter) Write(p []byte) (int, error) {
	if b.capture {
		return b.buf.Write(p)
	}
	return b.ResponseWriter.Write(p)
}

func (b *bsonErrorWriter) finish() {
	if !b.capture {
		return
	}
	var env struct {
		Code          int    `json:"code"`
		Message       string `json:"message"`
		MessageDetail string `json:"message_detail"`
	}
	e := duoproto.Internal()
	if json.Unmarshal(b.buf.Bytes(), &env) == nil && env.Code/100 == b.status {
		e = &duoproto.Error{Status: b.status, Code: env.Code, Message: env.Message, Detail: env.MessageDetail}
	}
	h := b.Header()
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	h.Del("Content-Length")
	duoproto.WriteErrorBSON(b.ResponseWriter, e)
}

// legacyWho is the user a legacy request names: "user" (v1), or
// "username" as v2 spells it.
func legacyWho(c *api.Caller) authflow.Who {
	u := c.Param("user")
	if u == "" {
		u = c.Param("username")
	}
	return authflow.Who{Username: u}
}

// legacyPreauth answers POST /rest/v1/preauth: user; ipaddr, hostname and
// failmode optional.
func (h *Handler) legacyPreauth(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	who := legacyWho(c)
	res, err := h.flow.Preauth(r.Context(), authflow.PreauthRequest{
		Integration: c.Integration, Who: who, IP: c.Param("ipaddr"), Hostname: c.Param("hostname"),
	})
	if err != nil {
		return legacyParamError(err)
	}
	out := legacyPreauthResponse{Result: res.Result}
	if res.Result == authflow.ResultAuth {
		out.Prompt, out.Factors = legacyPrompt(who.Username, res.Devices)
	} else {
		out.Status = res.StatusMsg
	}
	writeOK(w, r, out)
	return nil
}

// legacyPrompt is the text duo_unix prints before reading the answer, and
// the factors map that turns a chosen option number into a factor.
func legacyPrompt(username string, devices []authflow.Device) (string, map[string]string) {
	factors := map[string]string{"default": legacyDefaultFactor}
	var options strings.Builder
	n := 0
	for i, d := range devices {
		if d.Type != authflow.DevicePhone || !slices.Contains(d.Capabilities, mfa.CapSMS) {
			continue
		}
		n++
		key := strconv.Itoa(n)
		factors[key] = "sms" + strconv.Itoa(i+1)
		fmt.Fprintf(&options, " %d. SMS passcodes to %s", n, clean(d.Number))
		if d.SMSNextCode != "" {
			fmt.Fprintf(&options, " (next code starts with: %s)", d.SMSNextCode)
		}
		options.WriteString("\n")
	}
	head := "Duo two-factor login for " + clean(username) + "\n\n"
	if n == 0 {
		return head + "Enter a passcode from your authenticator app or hardware token, or a bypass code.\n\n" +
			"Passcode: ", factors
	}
	return head + "Enter a passcode from your authenticator app, hardware token or SMS, or a bypass code, " +
		"or select one of the following options:\n\n" + options.String() + "\n" +
		"Passcode or option (1-" + strconv.Itoa(n) + "): ", factors
}

// clean drops control characters from text shown in the prompt.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// legacyAuth answers POST /rest/v1/auth: user, factor (auto with auto=, or
// passcode with passcode=), async, ipaddr, hostname, pushinfo (ignored).
func (h *Handler) legacyAuth(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	who := legacyWho(c)
	if who.Username == "" {
		return duoproto.BadParam("user")
	}
	var answer string
	switch f := c.Param("factor"); f {
	case "auto", "":
		answer = c.Param("auto")
	case "passcode":
		answer = c.Param("passcode")
	case "push", "phone", "sms":
		answer = f
	default:
		return duoproto.BadParam("factor")
	}
	async := c.Param("async") == "1"
	answer = strings.TrimSpace(answer)

	var res authflow.AuthResult
	switch {
	case answer == "":
		res = authflow.AuthResult{Result: authflow.ResultDeny, Status: authflow.StatusDeny, StatusMsg: msgLegacyEmptyPasscode}
	case oobFactor.MatchString(answer):
		res = authflow.AuthResult{Result: authflow.ResultDeny, Status: authflow.StatusDeny, StatusMsg: MsgLegacyFactorUnavailable}
	default:
		var err error
		res, err = h.flow.Auth(r.Context(), authflow.AuthRequest{
			Integration: c.Integration, Who: who, Factor: mfa.FactorPasscode,
			Passcode: mfa.Passcode(answer), IP: c.Param("ipaddr"), Hostname: c.Param("hostname"),
		})
		var me *mfa.Error
		switch {
		case errors.As(err, &me) && me.Kind == mfa.RateLimited:
			// duo_unix 1.11.3 aborts on HTTP 429 without telling the
			// user why; a deny shows the reason and re-prompts.
			res = authflow.AuthResult{Result: authflow.ResultDeny, Status: authflow.StatusDeny,
				StatusMsg: "Too many attempts. Please wait a minute and try again."}
		case errors.As(err, &me) && me.Kind == mfa.Unavailable:
			// Likewise (and failmode=safe would let the user in): the SMS
			// could not be sent.
			res = authflow.AuthResult{Result: authflow.ResultDeny, Status: authflow.StatusDeny,
				StatusMsg: MsgLegacySMSUnavailable}
		case err != nil:
			return legacyParamError(err)
		}
	}
	if !async {
		writeOK(w, r, legacyAuthResponse{Result: res.Result, Status: res.StatusMsg})
		return nil
	}
	txid, err := newTxID(h.rand)
	if err != nil {
		return err
	}
	now := h.now()
	state := mfa.TxDeny
	if res.Result == authflow.ResultAllow {
		state = mfa.TxAllow
	}
	if h.tx == nil {
		return fmt.Errorf("legacy auth: no transaction store")
	}
	if err := h.tx.CreateTransaction(r.Context(), mfa.Transaction{
		ID: txid, IKey: c.Integration.IKey, Factor: mfa.FactorPasscode, State: state,
		Status: res.Status, StatusMsg: res.StatusMsg, DisplayUsername: who.Username,
		IP: c.Param("ipaddr"), Hostname: c.Param("hostname"),
		Created: now, Expires: now.Add(legacyTxLifetime), Answered: now,
	}); err != nil {
		return fmt.Errorf("legacy auth: %w", err)
	}
	writeOK(w, r, legacyTxidResponse{TxID: txid})
	return nil
}

// legacyStatus answers GET /rest/v1/status: txid. A txid that does not
// exist, has expired or belongs to another integration is 404.
func (h *Handler) legacyStatus(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	id := c.Param("txid")
	if id == "" {
		return duoproto.BadParam("txid")
	}
	if h.tx == nil {
		return duoproto.NotFound()
	}
	tx, err := h.tx.GetTransaction(r.Context(), id)
	if errors.Is(err, mfa.ErrNotFound) || (err == nil && (tx.IKey != c.Integration.IKey || !h.now().Before(tx.Expires))) {
		return &duoproto.Error{Status: 404, Code: 40401, Message: "Resource not found", Detail: "unknown or expired txid"}
	}
	if err != nil {
		return fmt.Errorf("legacy status: %w", err)
	}
	out := legacyStatusResponse{Status: tx.StatusMsg}
	switch tx.State {
	case mfa.TxAllow:
		out.Result = authflow.ResultAllow
	case mfa.TxDeny:
		out.Result = authflow.ResultDeny
	}
	writeOK(w, r, out)
	return nil
}

// legacyParamError renames v2 parameter names in Invalid errors to v1's.
func legacyParamError(err error) error {
	var me *mfa.Error
	if errors.As(err, &me) && me.Kind == mfa.Invalid && me.Field == "username" {
		return duoproto.BadParam("user")
	}
	return err
}

// newTxID returns a random UUID (version 4), the form Duo's txids take.
func newTxID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("txid: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
