package duoproto

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Key is what the server knows about one integration key (ikey) for
// verifying its requests.
type Key struct {
	SKey string // the shared secret key; never logged or printed

	// AllowV1 accepts signature v1, which carries no timestamp and so can
	// be replayed. Only the duo_unix releases Debian and Ubuntu ship need
	// it; it is an opt-in per integration.
	AllowV1 bool
}

// LogValue redacts the secret key from slog output.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("skey", redacted), slog.Bool("allow_v1", k.AllowV1))
}

// String redacts the secret key from fmt output (%v, %s).
func (k Key) String() string { return fmt.Sprintf("{SKey:%s AllowV1:%t}", redacted, k.AllowV1) }

// GoString redacts the secret key from %#v.
func (k Key) GoString() string {
	return fmt.Sprintf("duoproto.Key{SKey:%q, AllowV1:%t}", redacted, k.AllowV1)
}

const redacted = "REDACTED"

// KeyLookup finds the Key for an ikey. When there is no such integration it
// returns an error wrapping [ErrUnknownKey]; any other error is an internal
// failure that Verify passes on wrapped.
type KeyLookup func(ctx context.Context, ikey string) (Key, error)

// maxIKeyLen bounds the ikey Verify passes to Lookup. Duo's are 20
// characters; anything much longer cannot be a key and is refused without a
// lookup.
const maxIKeyLen = 128

// Verifier authenticates signed Duo API requests.
//
// Verify checks, in this order (DUO-WIRE.md section 1.6): the Authorization
// header, the ikey, the timestamp, the signature. Each of those failures
// is the HTTP 401 Duo error a real Duo server answers.
type Verifier struct {
	Lookup KeyLookup        // required
	Now    func() time.Time // required: the server clock for the skew check
	Skew   time.Duration    // allowed clock difference; 0 means DefaultSkew

	// Hosts are extra host names a client may have signed, lower-cased
	// before use, for deployments where the Host header a client sends is
	// not the name it signs (for example behind a proxy). The Host header,
	// with and without its port, is always tried.
	Hosts []string
}

// NewVerifier returns a Verifier with the default skew and no extra hosts.
func NewVerifier(lookup KeyLookup, now func() time.Time) *Verifier {
	return &Verifier{Lookup: lookup, Now: now}
}

// Request is an authenticated request.
type Request struct {
	IKey string

	// Params are the request parameters: the query string, plus the body
	// when it is a form or a JSON object, so that handlers read form (v1/v2)
	// and JSON (v5) requests alike. A JSON body must be a flat object:
	// strings are kept as they are, numbers as written, booleans become
	// "true"/"false", an array of those becomes several values, and null
	// counts as absent.
	Params url.Values

	Version int    // signature version that matched: 1, 2, 4 or 5
	JSON    bool   // the body is application/json
	Body    []byte // the raw body as given to Verify
}

// Verify authenticates r, whose body the caller has already read into body
// (with a size limit of its choosing: a form body goes into every v1/v2
// candidate string, so keep the limit small; Duo requests are a few
// kilobytes). r.Body is not read.
//
// The timestamp is X-Duo-Date if present, else Date. It may be missing only
// when key.AllowV1 is set; then only v1 can match. A present timestamp must
// parse ([ParseDate]) and lie within Skew of Now.
//
// Verify then tries every canonical string a real client may have signed:
// v2, v4 and v5 when there is a timestamp, and v1 when the key allows it;
// for each, the Host header lower-cased (and as sent, if that differs),
// without its port, and each of Hosts; the path decoded and, if different,
// as sent; and the parameter orders of the different clients (by encoded
// key: Python; by raw key: Go; by encoded "k=v": duo_unix; by raw key with
// values as sent: Node). Almost always these coincide. The digest
// follows the length of the hex signature: 40 is HMAC-SHA1 (v1/v2 only),
// 128 is HMAC-SHA512. Comparison is constant-time.
//
// Parameters: for v1/v2 they are the query string together with an
// application/x-www-form-urlencoded body (clients such as Duo's Postman
// collection send POST parameters in the query). For v4/v5 the canonical
// parameters are the query string only and the raw body bytes are hashed.
// In the returned Request, Params holds the query string plus the form, or
// plus a flat JSON object body (see [Request].Params). A malformed query
// string, form or JSON body (or a nested JSON value) is
// reported, after the signature has been checked, as 400/40002 with
// message_detail naming the problem or the key.
//
// Every parameter in Params is covered by the signature that matched: a
// v1/v2 signature covers no body, so with a non-empty body that is not a
// form (JSON, text, or no Content-Type) it is refused, 401/40103 with
// message_detail naming the reason; and since the Content-Type is not
// signed, a v4/v5-signed form body that holds JSON is refused 400. The
// limits MaxQueryBytes, MaxParams, MaxParamNameBytes and
// MaxSignedParamBytes are checked before any HMAC and answered 400/40002
// at once, and the HMAC work of one call is bounded (maxHashBytes).
//
// Errors are *Error values from this package, except that a failing
// Lookup, a nil Lookup or Now, or an empty SKey return a plain error for
// [WriteError] to turn into a 500 (log it first). Verify never panics.
func (v *Verifier) Verify(r *http.Request, body []byte) (*Request, error) {
	if r == nil || r.URL == nil {
		return nil, ErrMissingCredentials
	}
	ikey, sig, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		return nil, ErrMissingCredentials
	}
	contentType := r.Header.Get("Content-Type")
	if err := checkSize(r.URL.RawQuery, contentType, body); err != nil {
		return nil, err
	}
	if v.Lookup == nil || v.Now == nil {
		return nil, errors.New("duoproto: Verifier needs Lookup and Now")
	}

	if len(ikey) > maxIKeyLen {
		return nil, ErrInvalidIKey
	}
	key, err := v.Lookup(r.Context(), ikey)
	if errors.Is(err, ErrUnknownKey) {
		return nil, ErrInvalidIKey
	}
	if err != nil {
		return nil, fmt.Errorf("duoproto: look up integration key: %w", err)
	}
	if key.SKey == "" {
		return nil, errors.New("duoproto: integration key has an empty secret key")
	}

	date := r.Header.Get("X-Duo-Date")
	if date == "" {
		date = r.Header.Get("Date")
	}
	if date == "" && !key.AllowV1 {
		return nil, ErrMissingTimestamp
	}
	if date != "" {
		t, ok := ParseDate(date)
		skew := v.Skew
		if skew <= 0 {
			skew = DefaultSkew
		}
		if !ok || !withinSkew(t, v.Now(), skew) {
			return nil, ErrBadTimestamp
		}
	}

	var newHash func() hash.Hash
	switch len(sig) {
	case 2 * sha1.Size:
		newHash = sha1.New
	case 2 * sha512.Size:
		newHash = sha512.New
	default:
		return nil, ErrInvalidSignature
	}
	want, err := hex.DecodeString(sig)
	if err != nil {
		return nil, ErrInvalidSignature
	}

	// Parameters. A parse error is held back until the signature is
	// checked, so that an unauthenticated caller only ever learns 401.
	query, qerr := url.ParseQuery(r.URL.RawQuery)
	var paramErr *Error
	if qerr != nil {
		paramErr = BadParam("malformed query string")
	}
	signedParams := query // v1/v2: query + form
	params := query       // Request.Params: query + form or JSON
	kind := bodyKindOf(contentType, body)
	switch kind {
	case bodyForm:
		form, ferr := parseForm(body)
		signedParams = mergeValues(query, form)
		params = signedParams
		if paramErr == nil && ferr != nil {
			paramErr = ferr
		}
	case bodyJSON:
		obj, jerr := parseJSONParams(body)
		if jerr != nil {
			if paramErr == nil {
				paramErr = jerr
			}
		} else {
			params = mergeValues(query, obj)
		}
	}
	if err := checkParams(params); err != nil {
		return nil, err
	}
	// The canonical parameter strings, each computed once. A v1/v2
	// signature covers query and form; v4/v5 the query, the body hashed.
	queryStrs := paramStrings(query)
	signedStrs := queryStrs
	if kind == bodyForm {
		signedStrs = paramStrings(signedParams)
	}
	if len(queryStrs[0]) > MaxSignedParamBytes || len(signedStrs[0]) > MaxSignedParamBytes {
		return nil, BadParam(fmt.Sprintf("request parameters longer than %d bytes once percent-encoded", MaxSignedParamBytes))
	}

	c := candidates{
		method:  strings.ToUpper(r.Method),
		date:    date,
		paths:   pathCandidates(r.URL),
		skey:    []byte(key.SKey),
		newHash: newHash,
		want:    want,
		budget:  maxHashBytes,
	}
	c.hosts, c.lowerHosts = hostCandidates(r, v.Hosts)
	version := 0
	var bodyHash string
	if date != "" && len(want) == sha512.Size {
		bodyHash = hashHex(body)
	}
	// v1 and v2 cover no body: with a body that is not a form, they would
	// hand the handler parameters (JSON) or bytes the signature never saw.
	unsignedBody := len(body) > 0 && kind != bodyForm
	switch {
	case date != "" && c.tryV45(5, queryStrs, bodyHash, CanonXDuoHeaders(r.Header)):
		version = 5
	case date != "" && c.tryV12(2, signedStrs):
		version = 2
	case date != "" && kind != bodyForm && kind != bodyOther && c.tryV45(4, queryStrs, bodyHash, ""):
		version = 4
	case key.AllowV1 && c.tryV12(1, signedStrs):
		version = 1
	default:
		return nil, ErrInvalidSignature
	}
	if unsignedBody && version < 4 {
		return nil, errUnsignedBody(kind)
	}
	if paramErr != nil {
		return nil, paramErr
	}
	if kind == bodyForm && version >= 4 && looksLikeJSON(body) {
		// The content type is not signed: a JSON body signed with v5
		// and re-sent as a form would be read as different parameters.
		return nil, BadParam("a form body must not hold JSON: send it as application/json")
	}
	if params == nil {
		params = url.Values{}
	}
	return &Request{IKey: ikey, Params: params, Version: version, JSON: kind == bodyJSON, Body: body}, nil
}

// parseAuthorization splits "Basic base64(ikey:sig)". The scheme is
// case-insensitive; both parts must be non-empty.
func parseAuthorization(h string) (ikey, sig string, ok bool) {
	scheme, cred, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	cred = strings.TrimSpace(cred)
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(cred); err != nil {
			return "", "", false
		}
	}
	ikey, sig, found = strings.Cut(string(raw), ":")
	if !found || ikey == "" || sig == "" {
		return "", "", false
	}
	return ikey, sig, true
}

// hostCandidates returns the host names a client may have signed: the Host
// header lower-cased, without its port (Python and duo_unix sign no port;
// Go signs it), and the configured extra names; then, only for v1/v2, the
// Host header as sent (duo_unix does not lower-case). Duplicates are
// dropped; lower is how many of the names are lower-cased ones.
func hostCandidates(r *http.Request, extra []string) (out []string, lower int) {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	add := func(h string) {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	add(strings.ToLower(host))
	if name, _, err := net.SplitHostPort(host); err == nil {
		add(strings.ToLower(name))
		if strings.Contains(name, ":") { // IPv6 literal, signed with brackets
			add("[" + strings.ToLower(name) + "]")
		}
	}
	for _, h := range extra {
		add(strings.ToLower(h))
	}
	lower = len(out)
	if host != strings.ToLower(host) {
		add(host)
		if name, _, err := net.SplitHostPort(host); err == nil {
			add(name)
		}
	}
	return out, lower
}

// pathCandidates returns the decoded path and, when the client sent it
// encoded differently, the path as sent.
func pathCandidates(u *url.URL) []string {
	out := []string{u.Path}
	if ep := u.EscapedPath(); ep != u.Path {
		out = append(out, ep)
	}
	return out
}

// maxHashBytes bounds the bytes of canonical strings one Verify call feeds
// to HMAC, whatever the request: a wrong signature on the largest request
// costs at most this much hashing. The candidates are tried in the order
// real clients make likely (lower-cased Host first, decoded path, the
// documented parameter order), so an honest request matches long before;
// with the parameter size limit (MaxSignedParamBytes) at least 16 full-size
// candidates fit, and 200 of 5 KiB.
const maxHashBytes = 1 << 20

// candidates holds what every canonical string of one request shares.
type candidates struct {
	method, date string
	hosts, paths []string
	lowerHosts   int // hosts[:lowerHosts] are the lower-cased names
	skey         []byte
	newHash      func() hash.Hash
	want         []byte
	budget       int // canonical bytes left to hash
}

// match reports whether the canonical string head + params + tail carries
// the wanted HMAC. The parts are hashed in turn, not joined, so that a long
// parameter string is not copied once per candidate.
func (c *candidates) match(head string, params []byte, tail string) bool {
	n := len(head) + len(params) + len(tail)
	if n > c.budget {
		c.budget = 0
		return false
	}
	c.budget -= n
	m := hmac.New(c.newHash, c.skey)
	m.Write([]byte(head))
	m.Write(params)
	m.Write([]byte(tail))
	return hmac.Equal(m.Sum(nil), c.want)
}

// paramStrings returns the distinct canonical parameter strings of the
// clients' sort orders, the documented one first. An order is computed
// only when it can differ from the documented one: sorting raw rather than
// encoded keys and values matters only when percent-encoding changes one;
// sorting whole "k=v" strings only when one encoded key is a prefix of
// another; keeping wire value order only when a key repeats. Almost always
// there is one string.
func paramStrings(params url.Values) []string {
	out := []string{canonParams(params, orderEncodedKey)}
	if len(params) == 0 {
		return out
	}
	escapes, repeats := false, false
	keys := make([]string, 0, len(params))
	for k, vs := range params {
		ek := escape(k)
		keys = append(keys, ek)
		escapes = escapes || ek != k
		repeats = repeats || len(vs) > 1
		for _, v := range vs {
			if escapes {
				break
			}
			escapes = escape(v) != v
		}
	}
	slices.Sort(keys)
	prefix := false
	for i := 1; i < len(keys) && !prefix; i++ {
		prefix = strings.HasPrefix(keys[i], keys[i-1])
	}
	add := func(o paramOrder) {
		if s := canonParams(params, o); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if escapes {
		add(orderRawKey)
	}
	if prefix {
		add(orderEncodedPair)
	}
	if repeats {
		add(orderRawKeyWireValues)
	}
	return out
}

// tryV12 tries signature v1 or v2 over every host, path and parameter
// string, within the hashing budget.
func (c *candidates) tryV12(version int, params []string) bool {
	bs := toBytes(params)
	for _, h := range c.hosts {
		for _, p := range c.paths {
			head := c.method + "\n" + h + "\n" + p + "\n"
			if version == 2 {
				head = c.date + "\n" + head
			}
			for _, b := range bs {
				if c.match(head, b, "") {
					return true
				}
			}
		}
	}
	return false
}

// tryV45 tries signature v4 or v5 (SHA-512 only) over every lower-cased
// host, path and parameter string of the query, within the hashing budget.
func (c *candidates) tryV45(version int, query []string, bodyHash, headerHash string) bool {
	if len(c.want) != sha512.Size {
		return false
	}
	tail := "\n" + bodyHash
	if version == 5 {
		tail += "\n" + headerHash
	}
	bs := toBytes(query)
	for _, h := range c.hosts[:c.lowerHosts] {
		for _, p := range c.paths {
			head := c.date + "\n" + c.method + "\n" + h + "\n" + p + "\n"
			for _, b := range bs {
				if c.match(head, b, tail) {
					return true
				}
			}
		}
	}
	return false
}

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}
