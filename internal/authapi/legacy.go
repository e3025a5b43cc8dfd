package authapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
// The prompt (prompt.go, shared with /auth/v2/preauth's text_prompt) asks
// for a passcode and lists the push, phone call and SMS options of each
// phone (factors "1":"push1", "2":"phone1", "3":"sms1", ... where the
// number is the device's position in preauth's list). Choosing SMS sends a
// new batch and is denied with "New SMS passcodes sent", so the client
// prompts again; choosing push or call starts one, and status.bson polls
// it like auth_status (authflow.AuthStatus). The default factor "passcode"
// (sent in autopush mode when no device can push or take a call) is denied
// with a status that says so. With async=1 the client insists on a txid:
// authflow keeps an answer decided at once as an already completed
// transaction that status answers (authflow.Auth and authflow.Refuse with
// Async).

// legacyDefaultFactor is factors.default when no device can push or take a
// call (prompt.go): autopush mode sends it as auto=.
const legacyDefaultFactor = menuDefaultPasscode

// MsgLegacyFactorUnavailable is the status for a factor that is not served.
const MsgLegacyFactorUnavailable = "No login request can be sent: no device of this account can take a push or a phone call. Enter a passcode instead."

// MsgLegacySMSUnavailable is the status when SMS passcodes could not be
// sent.
const MsgLegacySMSUnavailable = "Could not send SMS passcodes. Please try again later or enter a passcode."

// msgLegacyEmptyPasscode is the status for an empty answer.
const msgLegacyEmptyPasscode = "No passcode entered. Please enter a passcode."

// msgLegacyRateLimited is the status for an attempt over a limit.
const msgLegacyRateLimited = "Too many attempts. Please wait a minute and try again."

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
		mux.Handle("GET /rest/v1/ping."+ext, h.legacy(legacyWord("pong")))
		mux.Handle("GET /rest/v1/check."+ext, h.legacy(legacyWord("valid")))
	}
	// Duo's Python v1 client (duo_client auth_v1), duo_openvpn and Duo's
	// Authentication Proxy call them without an extension: JSON answers,
	// the same handlers (preauth user=; auth user, factor=auto,
	// auto=<passcode|push|phone|sms...>, ipaddr; status txid=).
	mux.Handle("GET /rest/v1/ping", h.legacy(legacyWord("pong")))
	mux.Handle("GET /rest/v1/check", h.legacy(legacyWord("valid")))
	mux.Handle("POST /rest/v1/preauth", h.legacy(h.legacyPreauth))
	mux.Handle("POST /rest/v1/auth", h.legacy(h.legacyAuth))
	mux.Handle("GET /rest/v1/status", h.legacy(h.legacyStatus))
	mux.Handle("GET /rest/v1/logo", h.legacy(h.logo)) // logo.go: the PNG, as /auth/v2/logo
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
	switch res.Result {
	case authflow.ResultAuth:
		m := newLoginMenu(who.Username, res.Devices, false)
		out.Prompt, out.Factors = m.Text, m.Factors
	case authflow.ResultEnroll:
		out.Status = enrollText(res.StatusMsg, res.EnrollPortalURL)
	default:
		out.Status = res.StatusMsg
	}
	writeOK(w, r, out)
	return nil
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
	case string(mfa.FactorAuto), "":
		answer = c.Param("auto")
	case string(mfa.FactorPasscode):
		answer = c.Param("passcode")
	default:
		// push, phone, sms: the factor table's keywords, exactly.
		if m, ok := authflow.MethodByKeyword(f); !ok || m.Keyword != f {
			return duoproto.BadParam("factor")
		}
		answer = f
	}
	answer = strings.TrimSpace(answer)
	req := authflow.AuthRequest{
		Integration: c.Integration, Who: who, Factor: mfa.FactorPasscode,
		Passcode: mfa.Passcode(answer), IP: c.Param("ipaddr"), Hostname: c.Param("hostname"),
		Async: c.Param("async") == "1", PushInfo: c.Param("pushinfo"),
	}
	var (
		res authflow.AuthResult
		err error
	)
	switch {
	case answer == "":
		res, err = h.flow.Refuse(r.Context(), req, msgLegacyEmptyPasscode)
	case strings.EqualFold(answer, legacyDefaultFactor):
		res, err = h.flow.Refuse(r.Context(), req, MsgLegacyFactorUnavailable)
	default:
		// "auto" picks push or phone; push1, phone2, sms1 (the menu's
		// factors) and typed passcodes go through the passcode box,
		// where the engine tells keywords from codes.
		if strings.EqualFold(answer, string(mfa.FactorAuto)) {
			req.Factor = mfa.FactorAuto
		}
		res, err = h.flow.Auth(r.Context(), req)
		var me *mfa.Error
		switch {
		case errors.As(err, &me) && me.Kind == mfa.RateLimited:
			// duo_unix 1.11.3 aborts on HTTP 429 without telling the
			// user why; a deny shows the reason and re-prompts.
			res, err = h.flow.Refuse(r.Context(), req, msgLegacyRateLimited)
		case errors.As(err, &me) && me.Kind == mfa.Unavailable:
			// Likewise (and failmode=safe would let the user in): the SMS
			// could not be sent.
			res, err = h.flow.Refuse(r.Context(), req, MsgLegacySMSUnavailable)
		case err != nil:
			return legacyParamError(err)
		}
	}
	if err != nil {
		return fmt.Errorf("legacy auth: %w", err)
	}
	if !req.Async {
		writeOK(w, r, legacyAuthResponse{Result: res.Result, Status: res.StatusMsg})
		return nil
	}
	writeOK(w, r, legacyTxidResponse{TxID: res.TxID})
	return nil
}

// legacyStatus answers GET /rest/v1/status: txid. A txid that does not
// exist, has expired or belongs to another integration is 404.
func (h *Handler) legacyStatus(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	id := c.Param("txid")
	if id == "" {
		return duoproto.BadParam("txid")
	}
	st, err := h.flow.AuthStatus(r.Context(), c.Integration, id, authflow.StatusPollWait)
	var me *mfa.Error
	if errors.As(err, &me) && me.Kind == mfa.Invalid && me.Field == "txid" {
		return &duoproto.Error{Status: 404, Code: 40401, Message: "Resource not found", Detail: "unknown or expired txid"}
	}
	if err != nil {
		return fmt.Errorf("legacy status: %w", err)
	}
	out := legacyStatusResponse{Status: st.StatusMsg}
	if st.Final() {
		out.Result = st.Result
	}
	writeOK(w, r, out)
	return nil
}

// legacyWord answers a signed v1 ping or check with its fixed word ("pong",
// "valid": Duo's Python auth_v1 client).
func legacyWord(word string) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
		writeOK(w, r, word)
		return nil
	}
}

// legacyParamError renames v2 parameter names in Invalid errors to v1's.
func legacyParamError(err error) error {
	var me *mfa.Error
	if errors.As(err, &me) && me.Kind == mfa.Invalid && me.Field == "username" {
		return duoproto.BadParam("user")
	}
	return err
}
