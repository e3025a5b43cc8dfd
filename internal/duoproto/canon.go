package duoproto

import (
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// emptySHA512 is hex(sha512("")), the body and header lines of a v5
// canonical string when there is no body or no x-duo header.
const emptySHA512 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"

// escape percent-encodes s as RFC 3986 unreserved encoding: every byte
// outside A-Z a-z 0-9 - . _ ~ becomes %XX with upper-case hex, so a space is
// %20, never +. This is Python's urllib.parse.quote(s, '~').
func escape(s string) string {
	const hexUpper = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&0x0f])
	}
	return b.String()
}

func unreserved(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	case c == '-', c == '.', c == '_', c == '~':
		return true
	}
	return false
}

// paramOrder is one of the orders in which Duo clients sort parameters
// before joining them. They agree except when one key is a prefix of another
// or a key holds a character that percent-encoding moves in byte order.
type paramOrder int

const (
	// orderEncodedKey sorts by encoded key, then encoded value: the
	// documented rule, duo_client_python, duo_hmac_python, duo_api_nodejs.
	orderEncodedKey paramOrder = iota
	// orderRawKey sorts by raw key, then raw value, and encodes afterwards:
	// duo_api_golang (url.Values.Encode) and Duo's own mock server.
	orderRawKey
	// orderEncodedPair sorts the encoded "k=v" strings with strcmp:
	// duo_unix (_argv_to_qs).
	orderEncodedPair
	// orderRawKeyWireValues sorts by raw key but keeps each key's values
	// in the order given (for a server, the order on the wire):
	// duo_api_nodejs (lib/duo_sig.js canonParams).
	orderRawKeyWireValues
)

// CanonParams returns the canonical form of request parameters that Duo
// signatures cover: keys and values percent-encoded (RFC 3986 unreserved
// set, upper-case hex, space as %20), sorted by encoded key and then by
// encoded value, joined as k=v pairs with &. No parameters give "".
func CanonParams(params url.Values) string {
	return canonParams(params, orderEncodedKey)
}

func canonParams(params url.Values, order paramOrder) string {
	type pair struct {
		rawKey, key string
		raw, vals   []string
	}
	pairs := make([]pair, 0, len(params))
	for k, vs := range params {
		p := pair{rawKey: k, key: escape(k), raw: vs, vals: make([]string, len(vs))}
		for i, v := range vs {
			p.vals[i] = escape(v)
		}
		pairs = append(pairs, p)
	}

	var out []string
	switch order {
	case orderRawKey, orderRawKeyWireValues:
		slices.SortFunc(pairs, func(a, b pair) int { return strings.Compare(a.rawKey, b.rawKey) })
		for _, p := range pairs {
			raw := p.raw
			if order == orderRawKey {
				raw = slices.Clone(p.raw)
				slices.Sort(raw)
			}
			for _, v := range raw {
				out = append(out, p.key+"="+escape(v))
			}
		}
	case orderEncodedPair:
		for _, p := range pairs {
			for _, v := range p.vals {
				out = append(out, p.key+"="+v)
			}
		}
		slices.Sort(out)
	default:
		slices.SortFunc(pairs, func(a, b pair) int { return strings.Compare(a.key, b.key) })
		for _, p := range pairs {
			slices.Sort(p.vals)
			for _, v := range p.vals {
				out = append(out, p.key+"="+v)
			}
		}
	}
	return strings.Join(out, "&")
}

// CanonV1 returns the signature v1 canonical string: the method in upper
// case, the host in lower case, the path and the canonical parameters, one
// per line. v1 has no timestamp.
func CanonV1(method, host, path string, params url.Values) string {
	return canonV1(strings.ToUpper(method), strings.ToLower(host), path, CanonParams(params))
}

// canonV1 and the other lower-case canon functions take every line as it
// goes into the string: the caller upper-cases the method and chooses the
// host's case (duo_unix signs the host as configured, not lower-cased).
func canonV1(method, host, path, params string) string {
	return method + "\n" + host + "\n" + path + "\n" + params
}

// CanonV2 returns the signature v2 canonical string: the date header value
// exactly as sent, followed by the four v1 lines.
func CanonV2(date, method, host, path string, params url.Values) string {
	return canonV2(date, strings.ToUpper(method), strings.ToLower(host), path, CanonParams(params))
}

func canonV2(date, method, host, path, params string) string {
	return date + "\n" + canonV1(method, host, path, params)
}

// CanonV4 returns the signature v4 canonical string (an older JSON-only
// scheme that duo_client_python still offers): the v2 lines followed by
// hex(sha512(body)).
func CanonV4(date, method, host, path string, params url.Values, body []byte) string {
	return canonV4(date, strings.ToUpper(method), strings.ToLower(host), path, CanonParams(params), hashHex(body))
}

func canonV4(date, method, host, path, params, bodyHash string) string {
	return canonV2(date, method, host, path, params) + "\n" + bodyHash
}

// CanonV5 returns the signature v5 canonical string: the v2 lines (whose
// parameters come from the query string only), hex(sha512(body)) of the raw
// body bytes, and hex(sha512(x-duo headers)) as computed by
// [CanonXDuoHeaders].
func CanonV5(date, method, host, path string, params url.Values, body []byte, header http.Header) string {
	return canonV5(date, strings.ToUpper(method), strings.ToLower(host), path, CanonParams(params), hashHex(body), CanonXDuoHeaders(header))
}

func canonV5(date, method, host, path, params, bodyHash, headerHash string) string {
	return canonV4(date, method, host, path, params, bodyHash) + "\n" + headerHash
}

// CanonXDuoHeaders returns the last line of a v5 canonical string: the
// headers whose lower-cased name starts with "x-duo", sorted by lower-cased
// name and joined as name NUL value NUL name NUL value..., then hashed with
// SHA-512 and hex-encoded. With no such header it is hex(sha512("")).
//
// This follows duo_hmac_python (prefix "x-duo"); duo_client_python signs
// only the extra headers it was given, all of which start with "x-duo-" and
// are sent, so both hash the same request headers. Should one header name
// carry several values, they are joined with "," (the HTTP field-combination
// rule); Duo's clients never send that.
func CanonXDuoHeaders(header http.Header) string {
	type field struct{ name, value string }
	var fields []field
	for name, vs := range header {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "x-duo") {
			continue
		}
		fields = append(fields, field{lower, strings.Join(vs, ",")})
	}
	if len(fields) == 0 {
		return emptySHA512
	}
	// Two map keys can lower-case to the same name only when the header
	// was built without canonicalization; sort by value too so that the
	// result stays deterministic.
	slices.SortFunc(fields, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	h := sha512.New()
	for i, f := range fields {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(f.name))
		h.Write([]byte{0})
		h.Write([]byte(f.value))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func hashHex(b []byte) string {
	sum := sha512.Sum512(b)
	return hex.EncodeToString(sum[:])
}
