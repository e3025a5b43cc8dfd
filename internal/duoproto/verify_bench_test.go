package duoproto

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// worstParams returns n parameters built to make every parameter order
// differ (keys that are prefixes of each other, values that need
// percent-encoding, a repeated key whose values arrive unsorted), with
// values as long as they can be while the canonical string stays within
// limit bytes.
func worstParams(n, limit int) string {
	build := func(per int) string {
		v := make([]string, 0, n)
		for i := range n {
			key := fmt.Sprintf("k%d", i/2)
			if i%2 == 1 {
				key += "-"
			}
			if i%3 == 0 {
				key = "rep"
			}
			val := strings.Repeat(string(rune('z'-i%26)), per) + " é"
			v = append(v, url.QueryEscape(key)+"="+url.QueryEscape(val))
		}
		return strings.Join(v, "&")
	}
	per := limit / n
	for ; per > 0; per-- {
		s := build(per)
		q, _ := url.ParseQuery(s)
		if len(CanonParams(q)) <= limit {
			return s
		}
	}
	return build(0)
}

// BenchmarkVerifyBadSignature measures what a caller without the secret key
// can make the verifier spend: a wrong signature on the largest requests
// the API accepts, sent to the most candidate strings (a mixed-case Host
// with a port, an escaped path, a key that allows v1 and a date, so that
// every version is tried, every parameter order differing). "4000 params"
// is refused for its size before any HMAC.
func BenchmarkVerifyBadSignature(b *testing.B) {
	for _, bc := range []struct {
		name         string
		query, body  string
		ctype        string
		wantTooLarge bool
	}{
		{name: "4000 params", body: worstParams(4000, 64<<10), ctype: "application/x-www-form-urlencoded", wantTooLarge: true},
		{name: "max form", body: worstParams(MaxParams, MaxSignedParamBytes-200), ctype: "application/x-www-form-urlencoded"},
		{name: "max query", query: worstParams(MaxParams, MaxQueryBytes-200)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := testVerifier()
			sig := strings.Repeat("ab", 64)
			b.ReportAllocs()
			for b.Loop() {
				target := "/admin/v1/a%2Fb"
				if bc.query != "" {
					target += "?" + bc.query
				}
				r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(bc.body))
				r.Host = "API.Example.com:8443"
				if bc.ctype != "" {
					r.Header.Set("Content-Type", bc.ctype)
				}
				r.Header.Set("Date", testDate)
				r.Header.Set("Authorization", basic(v1IKey, sig))
				_, err := v.Verify(r, []byte(bc.body))
				if tooLarge := errorsIsBadParam(err); err == nil || tooLarge != bc.wantTooLarge {
					b.Fatalf("Verify() = %v, want a 40002 size error: %t", err, bc.wantTooLarge)
				}
			}
		})
	}
}

func errorsIsBadParam(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Code == 40002
}
