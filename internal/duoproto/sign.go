package duoproto

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"time"
)

// SignSHA1 returns the lower-case hex HMAC-SHA1 of canon under skey, as
// signature v1/v2 clients up to duo_unix 2.0.0 and duo_client_python 4.5
// compute it.
func SignSHA1(skey, canon string) string {
	return hex.EncodeToString(mac(sha1.New, skey, canon))
}

// SignSHA512 returns the lower-case hex HMAC-SHA512 of canon under skey, the
// digest of every current Duo client and the only one v4/v5 allow.
func SignSHA512(skey, canon string) string {
	return hex.EncodeToString(mac(sha512.New, skey, canon))
}

func mac(h func() hash.Hash, skey, canon string) []byte {
	m := hmac.New(h, []byte(skey))
	m.Write([]byte(canon))
	return m.Sum(nil)
}

// SignOption adjusts [SignRequest].
type SignOption func(*signConfig)

type signConfig struct {
	sha1     bool
	now      func() time.Time
	xDuoDate bool
}

// WithSHA1 makes [SignRequest] use HMAC-SHA1 instead of HMAC-SHA512, as
// older clients do. It is valid only for signature versions 1 and 2.
func WithSHA1() SignOption { return func(c *signConfig) { c.sha1 = true } }

// WithNow sets the clock [SignRequest] reads when the request carries no
// date header yet. Without it, SignRequest uses time.Now.
func WithNow(now func() time.Time) SignOption { return func(c *signConfig) { c.now = now } }

// WithXDuoDate makes [SignRequest] send a new timestamp in X-Duo-Date, as
// duo_unix and duo_hmac_python do, instead of Date.
func WithXDuoDate() SignOption { return func(c *signConfig) { c.xDuoDate = true } }

// SignRequest signs req the way Duo's clients do, for tests and tooling. It
// is the client side of [Verifier.Verify].
//
// version is the signature version: 1 (no timestamp), 2, 4 or 5. For 2, 4
// and 5 the timestamp is the request's X-Duo-Date or Date header, used byte
// for byte; when neither is set, SignRequest sets Date (or X-Duo-Date, see
// [WithXDuoDate]) to the current time in RFC 1123 form with a numeric zone,
// as duo_api_golang does.
//
// The host is req.Host, or req.URL.Host when that is empty, including any
// port (as duo_api_golang signs it). The path is req.URL.Path. For versions
// 1 and 2 the parameters are the query string plus, when the Content-Type is
// application/x-www-form-urlencoded, the form in body. For versions 4 and 5
// the parameters are the query string only and body is hashed; v5 also
// covers every X-Duo-* header already on req.
//
// body must be the exact bytes req will send: when body is not nil,
// SignRequest sets req.Body, req.GetBody and req.ContentLength from it. The
// digest is HMAC-SHA512 unless [WithSHA1] is given. SignRequest then sets
// the Authorization header to Basic base64(ikey ":" hex signature).
func SignRequest(req *http.Request, ikey, skey string, version int, body []byte, opts ...SignOption) error {
	if req == nil || req.URL == nil {
		return errors.New("duoproto: sign: request has no URL")
	}
	cfg := signConfig{now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.sha1 && version != 1 && version != 2 {
		return fmt.Errorf("duoproto: sign: HMAC-SHA1 is not allowed for signature v%d", version)
	}

	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	query, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("duoproto: sign: query string: %w", err)
	}

	date := ""
	if version != 1 {
		if req.Header == nil {
			req.Header = make(http.Header)
		}
		date = req.Header.Get("X-Duo-Date")
		if date == "" {
			date = req.Header.Get("Date")
		}
		if date == "" {
			date = cfg.now().UTC().Format(time.RFC1123Z)
			if cfg.xDuoDate {
				req.Header.Set("X-Duo-Date", date)
			} else {
				req.Header.Set("Date", date)
			}
		}
	}

	var canon string
	switch version {
	case 1, 2:
		params := query
		if isForm(req.Header.Get("Content-Type")) {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return fmt.Errorf("duoproto: sign: form body: %w", err)
			}
			params = mergeValues(query, form)
		}
		if version == 1 {
			canon = CanonV1(method, host, req.URL.Path, params)
		} else {
			canon = CanonV2(date, method, host, req.URL.Path, params)
		}
	case 4:
		canon = CanonV4(date, method, host, req.URL.Path, query, body)
	case 5:
		canon = CanonV5(date, method, host, req.URL.Path, query, body, req.Header)
	default:
		return fmt.Errorf("duoproto: sign: unsupported signature version %d", version)
	}

	sig := SignSHA512(skey, canon)
	if cfg.sha1 {
		sig = SignSHA1(skey, canon)
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(ikey+":"+sig)))

	if body != nil {
		b := bytes.Clone(body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req.ContentLength = int64(len(b))
	}
	return nil
}

// mergeValues returns a new url.Values holding the values of a and then b.
func mergeValues(a, b url.Values) url.Values {
	out := make(url.Values, len(a)+len(b))
	for k, vs := range a {
		out[k] = append(out[k], vs...)
	}
	for k, vs := range b {
		out[k] = append(out[k], vs...)
	}
	return out
}
