package duoproto

import (
	"bytes"
	"fmt"
	"net/url"
)

// Limits on a signed request, checked before any HMAC is computed so that a
// caller without a valid signature cannot make the verifier work hard. Duo's
// clients send a few kilobytes in a few dozen parameters; the largest honest
// value is an Auth API pushinfo (under 20,000 bytes, which percent-encoding
// can triple).
const (
	// MaxParams bounds the parameter values of a request: query string,
	// form and JSON body together, each value of a repeated key or JSON
	// array counting once.
	MaxParams = 300
	// MaxParamNameBytes bounds the length of one parameter name.
	MaxParamNameBytes = 128
	// MaxQueryBytes bounds the raw query string.
	MaxQueryBytes = 16 << 10
	// MaxSignedParamBytes bounds the canonical (percent-encoded) parameter
	// string a signature covers: the query string, plus the form body for
	// v1/v2. A larger JSON body is fine: v4/v5 hash it once.
	MaxSignedParamBytes = 64 << 10
)

// checkSize refuses, before anything is parsed, a query string that is too
// long or a query and form that hold too many parameters.
func checkSize(rawQuery, contentType string, body []byte) *Error {
	if len(rawQuery) > MaxQueryBytes {
		return BadParam(fmt.Sprintf("query string longer than %d bytes", MaxQueryBytes))
	}
	n := countPairs(rawQuery)
	if isForm(contentType) {
		n += countPairs(body)
	}
	if n > MaxParams {
		return tooManyParams()
	}
	return nil
}

func tooManyParams() *Error {
	return BadParam(fmt.Sprintf("more than %d parameters", MaxParams))
}

// countPairs counts the non-empty &-separated fields of a query or form,
// which is how many pairs url.ParseQuery would return at most.
func countPairs[T string | []byte](s T) int {
	n, field := 0, false
	for i := 0; i < len(s); i++ {
		if s[i] == '&' {
			field = false
			continue
		}
		if !field {
			n, field = n+1, true
		}
	}
	return n
}

// checkParams applies MaxParams and MaxParamNameBytes to the parsed
// parameters (a JSON body is only counted once decoded).
func checkParams(params url.Values) *Error {
	n := 0
	for k, vs := range params {
		if len(k) > MaxParamNameBytes {
			return BadParam(fmt.Sprintf("parameter name longer than %d bytes", MaxParamNameBytes))
		}
		n += len(vs)
	}
	if n > MaxParams {
		return tooManyParams()
	}
	return nil
}

// bodyKind is how Verify reads a request body, from its Content-Type (any
// case, with or without parameters such as charset).
type bodyKind int

const (
	bodyEmpty bodyKind = iota // no body, and no form or JSON content type
	bodyForm                  // application/x-www-form-urlencoded
	bodyJSON                  // application/json
	bodyOther                 // anything else, including no content type
)

func bodyKindOf(contentType string, body []byte) bodyKind {
	switch {
	case isForm(contentType):
		return bodyForm
	case isJSON(contentType):
		return bodyJSON
	case len(body) == 0:
		return bodyEmpty
	}
	return bodyOther
}

// errUnsignedBody is the 401 for a v1/v2 signature on a body it does not
// cover.
func errUnsignedBody(k bodyKind) *Error {
	e := *ErrInvalidSignature
	if k == bodyJSON {
		e.Detail = "a JSON body must be signed with a body-hashing signature (v5)"
	} else {
		e.Detail = "a body that is not a form must be signed with a body-hashing signature (v5)"
	}
	return &e
}

// looksLikeJSON reports whether body starts like a JSON object or array.
// No client encodes a form so: "{" and "[" are percent-encoded.
func looksLikeJSON(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}
