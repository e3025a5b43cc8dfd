package deviceclienttest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/duoproto"
)

// ActivationResponse is what an activation answers; zero fields get test
// defaults (PKey and AKey are always generated).
type ActivationResponse struct {
	HOTPSecret   string `json:"hotp_secret"`
	HOTPCounter  uint64 `json:"hotp_counter"`
	UseTOTP      bool   `json:"use_totp"`
	CustomerName string `json:"customer_name"`
	Username     string `json:"username"`
	UserID       string `json:"user_id"`
}

// Tx is a login request as the wire carries it (docs/device-api.md).
type Tx struct {
	URGID          string         `json:"urgid"`
	TxID           string         `json:"txid"`
	Type           string         `json:"type"`
	Summary        string         `json:"summary"`
	Expiration     int64          `json:"expiration"`
	Attributes     [][]string     `json:"attributes"`
	Application    string         `json:"application"`
	Username       string         `json:"username"`
	IP             string         `json:"ip"`
	Hostname       string         `json:"hostname"`
	Time           int64          `json:"time"`
	PushInfo       [][]string     `json:"pushinfo"`
	RequireLock    bool           `json:"require_lock"`
	RequireTouchID bool           `json:"require_touch_id"`
	AKey           string         `json:"akey"`
	StepUpCodeInfo map[string]int `json:"step_up_code_info,omitempty"`

	stepUpCode string
	answered   bool
	pkey       string
}

// Device is an activated install as the fake knows it.
type Device struct {
	PKey    string
	AKey    string
	Pub     *rsa.PublicKey
	UserID  string
	Params  url.Values // the activation's form parameters
	Revoked bool
	// Deregistered: the install revoked itself (DELETE /push/v2/device);
	// Revoked is then set too.
	Deregistered bool
}

// Answer is a recorded answer.
type Answer struct {
	PKey       string
	URGID      string
	Answer     string // approve or deny
	Fraud      bool
	StepUpCode string
}

// Request is one request as the fake received it, after verification.
type Request struct {
	Method string
	Path   string
	Params url.Values
	Header http.Header
	PKey   string // "" for activation
}

// Server is a running fake.
type Server struct {
	Host   string         // "127.0.0.1:port"
	CAPEM  []byte         // the certificate to trust, PEM
	CAFile string         // CAPEM in a file
	Pool   *x509.CertPool // holding CAPEM
	srv    *httptest.Server

	mu          sync.Mutex
	now         func() time.Time
	activations map[string]ActivationResponse // code -> response
	devices     map[string]*Device
	txs         []*Tx
	answers     []Answer
	requests    []Request
	changed     chan struct{} // closed and replaced on every change
	failLists   []int         // statuses (0: drop the connection) for the next transaction lists
	answered    chan Answer
	polling     chan string
}

// New starts a fake; it stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		now:         time.Now,
		activations: map[string]ActivationResponse{},
		devices:     map[string]*Device{},
		changed:     make(chan struct{}),
		answered:    make(chan Answer, 100),
		polling:     make(chan string, 100),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /push/v2/activation/{code}", s.activate)
	mux.HandleFunc("GET /push/v2/device/transactions", s.device(s.list))
	mux.HandleFunc("POST /push/v2/device/transactions/{urgid}", s.device(s.answer))
	mux.HandleFunc("DELETE /push/v2/device", s.device(s.deregister))
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // untrusted-CA tests make handshake noise
	s.srv.StartTLS()
	t.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
	s.Host = s.srv.Listener.Addr().String()
	s.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	s.Pool = x509.NewCertPool()
	s.Pool.AppendCertsFromPEM(s.CAPEM)
	s.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(s.CAFile, s.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// SetNow replaces the fake's clock (default time.Now).
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// AddActivation makes a single-use activation code and returns it in full,
// "<CODE>-<HOST64>" for this server.
func (s *Server) AddActivation(resp ActivationResponse) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := randomString(20)
	s.activations[code] = resp
	return code + "-" + base64.RawStdEncoding.EncodeToString([]byte(s.Host))
}

// Push adds a pending login request for the device pkey and wakes its long
// polls. Empty ids get a fresh one; a zero Expiration is a minute from now.
// stepUp, when not empty, makes it a Verified Push with that code.
func (s *Server) Push(pkey string, tx Tx, stepUp string) Tx {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tx.URGID == "" {
		tx.URGID = fmt.Sprintf("%s-%s", randomString(8), randomString(12))
	}
	tx.TxID = tx.URGID
	if tx.Expiration == 0 {
		tx.Expiration = s.now().Add(time.Minute).Unix()
	}
	if tx.Type == "" {
		tx.Type = "Login request"
	}
	if d := s.devices[pkey]; d != nil {
		tx.AKey = d.AKey
	}
	if stepUp != "" {
		tx.stepUpCode = stepUp
		tx.StepUpCodeInfo = map[string]int{"num_digits": len(stepUp)}
	}
	tx.pkey = pkey
	s.txs = append(s.txs, &tx)
	s.changeLocked()
	return tx
}

// Revoke marks an install as replaced: its requests get 401/40110.
func (s *Server) Revoke(pkey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.devices[pkey]; d != nil {
		d.Revoked = true
	}
	s.changeLocked()
}

// Forget deletes an install, as if the server had never known it: its
// requests get 401/40102.
func (s *Server) Forget(pkey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.devices, pkey)
	s.changeLocked()
}

// FailNextLists makes the next transaction lists fail, one per status: an
// HTTP status answers 5xx-style with a Duo envelope, 0 drops the
// connection (a network error).
func (s *Server) FailNextLists(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLists = append(s.failLists, statuses...)
}

// Devices returns the activated installs, in no order.
func (s *Server) Devices() []Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Device
	for _, d := range s.devices {
		out = append(out, *d)
	}
	return out
}

// Answers returns the answers recorded so far.
func (s *Server) Answers() []Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.answers)
}

// Answered delivers each accepted answer as it happens.
func (s *Server) Answered() <-chan Answer { return s.answered }

// Polling delivers the pkey of each long poll as it starts to wait (when
// nothing is pending), so that a test can act once a client is listening.
func (s *Server) Polling() <-chan string { return s.polling }

// Requests returns the verified requests so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) changeLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func randomString(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (s *Server) activate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		duoproto.WriteError(w, duoproto.BadParam("body"))
		return
	}
	code, _, _ := strings.Cut(r.PathValue("code"), "-")
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, ok := s.activations[code]
	if !ok {
		duoproto.WriteError(w, &duoproto.Error{Code: 40403, Message: "Unknown activation code"})
		return
	}
	if r.Form.Get("pkpush") != "rsa-sha512" {
		duoproto.WriteError(w, duoproto.BadParam("pkpush"))
		return
	}
	pub, err := parsePublicKey(r.Form.Get("pubkey"))
	if err != nil {
		duoproto.WriteError(w, duoproto.BadParam("pubkey"))
		return
	}
	delete(s.activations, code) // single use
	// A new activation revokes the phone's earlier installs; the fake has
	// one phone per user id.
	for _, d := range s.devices {
		if d.UserID == resp.UserID && resp.UserID != "" {
			d.Revoked = true
		}
	}
	d := &Device{PKey: "DP" + randomString(18), AKey: "DA" + randomString(18), Pub: pub, UserID: resp.UserID, Params: r.Form}
	s.devices[d.PKey] = d
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Params: r.Form, Header: r.Header.Clone()})
	if resp.HOTPSecret == "" {
		resp.HOTPSecret = strings.ToLower(randomString(32))
	}
	duoproto.WriteOK(w, map[string]any{
		"pkey": d.PKey, "akey": d.AKey, "hotp_secret": resp.HOTPSecret, "hotp_counter": resp.HOTPCounter,
		"use_totp": resp.UseTOTP, "customer_name": resp.CustomerName, "customer_logo": "",
		"username": resp.Username, "user_id": resp.UserID, "api_host": s.Host,
	})
}

func parsePublicKey(text string) (*rsa.PublicKey, error) {
	b, _ := pem.Decode([]byte(text))
	if b == nil {
		return nil, fmt.Errorf("no PEM")
	}
	var pub any
	var err error
	switch b.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(b.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(b.Bytes)
	default:
		return nil, fmt.Errorf("PEM type %q", b.Type)
	}
	if err != nil {
		return nil, err
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok || rk.N.BitLen() < 2048 || rk.N.BitLen() > 4096 {
		return nil, fmt.Errorf("not an RSA key of 2048 to 4096 bits")
	}
	return rk, nil
}

var (
	errMissingAuth  = &duoproto.Error{Code: 40101, Message: "Missing request credentials"}
	errUnknownPKey  = &duoproto.Error{Code: 40102, Message: "Invalid integration key in request credentials"}
	errBadSignature = &duoproto.Error{Code: 40103, Message: "Invalid signature in request credentials"}
	errBadDate      = &duoproto.Error{Code: 40105, Message: "Bad request timestamp"}
	errRevoked      = &duoproto.Error{Code: 40110, Message: "This device is no longer activated",
		Detail: "a newer activation replaced this install; reactivate the app"}
)

// device verifies a signed request and calls h with the install.
func (s *Server) device(h func(w http.ResponseWriter, r *http.Request, d *Device, params url.Values)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		params := r.URL.Query()
		if r.Method == http.MethodPost {
			var err error
			if params, err = url.ParseQuery(string(body)); err != nil {
				duoproto.WriteError(w, duoproto.BadParam("body"))
				return
			}
		}
		auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Basic ")
		if !ok {
			duoproto.WriteError(w, errMissingAuth)
			return
		}
		raw, err := base64.StdEncoding.DecodeString(auth)
		pkey, sig64, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			duoproto.WriteError(w, errMissingAuth)
			return
		}
		sig, err := base64.StdEncoding.DecodeString(sig64)
		if err != nil {
			duoproto.WriteError(w, errBadSignature)
			return
		}
		s.mu.Lock()
		d, known := s.devices[pkey]
		now := s.now()
		s.mu.Unlock()
		if !known {
			duoproto.WriteError(w, errUnknownPKey)
			return
		}
		date := r.Header.Get("X-Duo-Date")
		if date == "" {
			date = r.Header.Get("Date")
		}
		t, ok := duoproto.ParseDate(date)
		if !ok || t.Sub(now) > duoproto.DefaultSkew || now.Sub(t) > duoproto.DefaultSkew {
			duoproto.WriteError(w, errBadDate)
			return
		}
		canon := duoproto.CanonV2(date, r.Method, r.Host, r.URL.Path, params)
		sum := sha512.Sum512([]byte(canon))
		if rsa.VerifyPKCS1v15(d.Pub, crypto.SHA512, sum[:], sig) != nil {
			duoproto.WriteError(w, errBadSignature)
			return
		}
		s.mu.Lock()
		revoked := d.Revoked
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Params: params, Header: r.Header.Clone(), PKey: pkey})
		s.mu.Unlock()
		if revoked {
			duoproto.WriteError(w, errRevoked)
			return
		}
		h(w, r, d, params)
	}
}

func (s *Server) pendingLocked(pkey string, now time.Time) []Tx {
	out := []Tx{}
	for _, tx := range s.txs {
		if tx.pkey == pkey && !tx.answered && now.Unix() < tx.Expiration {
			out = append(out, *tx)
		}
	}
	return out
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, d *Device, params url.Values) {
	wait := 0
	if v := params.Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 30 {
			duoproto.WriteError(w, duoproto.BadParam("wait"))
			return
		}
		wait = n
	}
	s.mu.Lock()
	if len(s.failLists) > 0 {
		status := s.failLists[0]
		s.failLists = s.failLists[1:]
		s.mu.Unlock()
		if status == 0 {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			status = http.StatusServiceUnavailable
		}
		duoproto.WriteError(w, &duoproto.Error{Code: status * 100, Message: http.StatusText(status)})
		return
	}
	s.mu.Unlock()
	deadline := time.After(time.Duration(wait) * time.Second)
	announced := false
	for {
		s.mu.Lock()
		pending := s.pendingLocked(d.PKey, s.now())
		revoked := d.Revoked
		changed := s.changed
		s.mu.Unlock()
		if revoked {
			duoproto.WriteError(w, errRevoked)
			return
		}
		if len(pending) > 0 || wait == 0 {
			duoproto.WriteOK(w, map[string]any{"transactions": pending})
			return
		}
		if !announced {
			announced = true
			select {
			case s.polling <- d.PKey:
			default:
			}
		}
		select {
		case <-changed:
		case <-deadline:
			wait = 0
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, d *Device, params url.Values) {
	urgid := r.PathValue("urgid")
	if h := r.Header.Get("txId"); h != "" && h != urgid {
		duoproto.WriteError(w, duoproto.BadParam("txId"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var tx *Tx
	for _, t := range s.txs {
		if t.URGID == urgid && t.pkey == d.PKey {
			tx = t
		}
	}
	switch {
	case tx == nil:
		duoproto.WriteError(w, duoproto.NotFound())
		return
	case tx.answered:
		duoproto.WriteError(w, duoproto.BadParam("transaction: already answered"))
		return
	case s.now().Unix() >= tx.Expiration:
		duoproto.WriteError(w, duoproto.BadParam("transaction: expired"))
		return
	}
	ans := params.Get("answer")
	if ans != "approve" && ans != "deny" {
		duoproto.WriteError(w, duoproto.BadParam("answer"))
		return
	}
	fraud := params.Get("fraud") == "true"
	if fraud && ans != "deny" {
		duoproto.WriteError(w, duoproto.BadParam("fraud"))
		return
	}
	if tx.stepUpCode != "" && ans == "approve" {
		switch params.Get("step_up_code") {
		case "":
			duoproto.WriteError(w, duoproto.BadParam("step_up_code"))
			return
		case tx.stepUpCode:
		default:
			duoproto.WriteError(w, &duoproto.Error{Code: 40032, Message: "Incorrect verification code"})
			return
		}
	}
	tx.answered = true
	a := Answer{PKey: d.PKey, URGID: urgid, Answer: ans, Fraud: fraud, StepUpCode: params.Get("step_up_code")}
	s.answers = append(s.answers, a)
	s.changeLocked()
	select {
	case s.answered <- a:
	default:
	}
	duoproto.WriteOK(w, map[string]string{"result": "SUCCESS"})
}

// deregister revokes the install that signed the request.
func (s *Server) deregister(w http.ResponseWriter, r *http.Request, d *Device, params url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.Revoked = true
	d.Deregistered = true
	s.changeLocked()
	duoproto.WriteOK(w, map[string]string{"result": "SUCCESS"})
}
