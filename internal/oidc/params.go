package oidc

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Input bounds.
const (
	MaxBodyLen  = 16 << 10 // a token or health-check form body
	MaxQueryLen = 16 << 10 // a query string (authorize, or the Python SDK's bodiless POST)
)

// params returns the parameters of a protocol POST: a form body, or (the
// Python SDK) the query string of a POST without a body, or both; each
// parameter at most once. Inputs beyond MaxBodyLen or MaxQueryLen are
// refused.
func params(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if len(r.URL.RawQuery) > MaxQueryLen {
		return nil, invalidRequest(fmt.Sprintf("The query string is longer than %d bytes.", MaxQueryLen))
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyLen)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, invalidRequest(fmt.Sprintf("The request body is longer than %d bytes.", MaxBodyLen))
		}
		return nil, invalidRequest("The parameters could not be parsed.")
	}
	for k, vs := range r.Form {
		if len(vs) > 1 {
			return nil, invalidRequest(fmt.Sprintf("The parameter %s was given more than once.", k))
		}
	}
	return r.Form, nil
}
