package duoproto

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Fuzz tests of the request parameter parsers and the BSON writers. Each
// runs its seeds in every `go test`; explore with, for example,
//
//	go test -run='^$' -fuzz='^FuzzParseJSONParams$' -fuzztime=30s ./internal/duoproto
//
// (FuzzVerify in fuzz_test.go covers Verifier.Verify as a whole.)

// FuzzParseForm checks parseForm against url.ParseQuery (the form rules
// are exactly the query rules: "+" is a space, ";" is refused), that a
// failure is 40002, and that whatever it decodes survives an Encode round
// trip.
func FuzzParseForm(f *testing.F) {
	for _, s := range []string{
		"", "user=alice&factor=auto&auto=123456&async=1",
		"ipaddr=1.2.3.4&pushinfo=Server%2BIP%3D1.2.3.4%26Command%3D", "a=1&a=2&b", "a=%zz", "a;b=1", "=&=&&",
		"k=v+w%20x", "%ff%00=%80", strings.Repeat("x=1&", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := parseForm([]byte(body))
		want, werr := url.ParseQuery(body)
		if (err != nil) != (werr != nil) {
			t.Fatalf("parseForm(%q) error = %v, url.ParseQuery error = %v", body, err, werr)
		}
		if err != nil && (err.Code != 40002 || err.Status != 400) {
			t.Fatalf("parseForm(%q) error = %+v, want 400/40002", body, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("parseForm(%q) mismatch with url.ParseQuery (-want +got):\n%s", body, diff)
		}
		again, err := parseForm([]byte(got.Encode()))
		if err != nil {
			t.Fatalf("parseForm(Encode(%v)) error = %v", got, err)
		}
		if len(got) == 0 {
			again = url.Values{}
			got = url.Values{}
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("parseForm(%q) does not round-trip (-first +again):\n%s", body, diff)
		}
	})
}

// FuzzParseJSONParams checks parseJSONParams against a reference built on
// encoding/json alone: a body is accepted exactly when it is blank or one
// JSON object whose members are scalars or arrays of scalars; the values
// are then as documented on Request.Params. Failures are 40002 and carry
// nothing else.
func FuzzParseJSONParams(f *testing.F) {
	for _, s := range []string{
		``, `{}`, ` {"username":"alice","factor":"passcode","passcode":"123456"} `,
		`{"a":1,"b":1.50,"c":-0e3,"d":true,"e":false,"f":null}`, `{"a":["x",2,null,true]}`,
		`{"a":{"b":1}}`, `{"a":[[1]]}`, `{"a":[{}]}`, `[1]`, `"s"`, `null`, `1`, `{"a":1}{}`, `{"a":1} x`,
		`{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"a":1,"a":2}`, `{"":""}`, "\u00a0", `{"a":1e999999}`,
		`{"a":[]}`, `{"a":[null]}`, `{`, `{"a"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := parseJSONParams([]byte(body))
		want, ok := referenceJSONParams([]byte(body))
		if err != nil {
			if got != nil {
				t.Errorf("parseJSONParams(%q) = %v and %v, want no values with an error", body, got, err)
			}
			// The detail names the problem or the offending key (the
			// empty key too: {"":{}}).
			if err.Code != 40002 || err.Status != 400 || err.Detail == "" {
				t.Errorf("parseJSONParams(%q) error = %+v, want 400/40002 with a detail", body, err)
			}
		}
		if (err == nil) != ok {
			t.Fatalf("parseJSONParams(%q) error = %v, reference accepts = %v", body, err, ok)
		}
		if !ok {
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("parseJSONParams(%q) mismatch (-reference +got):\n%s", body, diff)
		}
		for k, vs := range got {
			if len(vs) == 0 {
				t.Errorf("parseJSONParams(%q)[%q] is present but empty", body, k)
			}
		}
	})
}

// referenceJSONParams is the documented JSON parameter rule, written
// independently of params.go.
func referenceJSONParams(body []byte) (url.Values, bool) {
	out := url.Values{}
	// A blank body has no parameters; "blank" is bytes.TrimSpace's (which
	// includes Unicode spaces such as U+00A0 and U+0085).
	if len(bytes.TrimSpace(body)) == 0 {
		return out, true
	}
	// Otherwise it must be exactly one JSON value (white space around it
	// is JSON's: space, tab, CR, LF), and an object.
	if !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, false
	}
	scalar := func(v any) (string, bool, bool) { // value, isNull, ok
		switch v := v.(type) {
		case nil:
			return "", true, true
		case string:
			return v, false, true
		case json.Number:
			return string(v), false, true
		case bool:
			return strconv.FormatBool(v), false, true
		}
		return "", false, false
	}
	for k, v := range obj {
		if arr, isArr := v.([]any); isArr {
			for _, el := range arr {
				s, isNull, ok := scalar(el)
				if !ok {
					return nil, false
				}
				if !isNull {
					out[k] = append(out[k], s)
				}
			}
			continue
		}
		s, isNull, ok := scalar(v)
		if !ok {
			return nil, false
		}
		if !isNull {
			out[k] = []string{s}
		}
	}
	return out, true
}

// FuzzParamsRoundTrip checks that what a client encodes, form or JSON, the
// server decodes to the same parameters.
func FuzzParamsRoundTrip(f *testing.F) {
	f.Add("username", "alice", "passcode", "123456", "ipaddr", "1.2.3.4")
	f.Add("", "", "a", "é", "a", "+&=;%")
	f.Add("\x00", "\xff", "b", " ", "c", "\u2028")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		for _, k := range []string{k1, k2, k3} {
			if !utf8.ValidString(k) {
				t.Skip("JSON cannot carry a key that is not UTF-8")
			}
		}
		in := url.Values{}
		in.Add(k1, v1)
		in.Add(k2, v2)
		in.Add(k3, v3)

		form, err := parseForm([]byte(in.Encode()))
		if err != nil {
			t.Fatalf("parseForm(Encode(%v)) = %v", in, err)
		}
		if diff := cmp.Diff(in, form); diff != "" {
			t.Fatalf("form round trip (-in +out):\n%s", diff)
		}

		// JSON as duo_api_golang's JSONSignedCall sends it: one member per
		// key, an array when a key repeats.
		obj := map[string]any{}
		for k, vs := range in {
			if len(vs) == 1 {
				obj[k] = vs[0]
			} else {
				obj[k] = vs
			}
		}
		body, _ := json.Marshal(obj)
		got, perr := parseJSONParams(body)
		if perr != nil {
			t.Fatalf("parseJSONParams(%s) = %v", body, perr)
		}
		want := url.Values{}
		for k, vs := range in {
			for _, v := range vs {
				want.Add(k, jsonText(v)) // JSON carries only UTF-8
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("JSON round trip of %s (-want +got):\n%s", body, diff)
		}
	})
}

// FuzzMediaType checks that the Content-Type classifiers never panic and
// never call one body both a form and JSON.
func FuzzMediaType(f *testing.F) {
	for _, s := range []string{"", "application/json", "Application/JSON; charset=utf-8", "application/x-www-form-urlencoded",
		"application/x-www-form-urlencoded;", "multipart/form-data; boundary=\"", ";", " application/json ;x", "\xff/\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		mt := mediaType(ct)
		if isForm(ct) && isJSON(ct) {
			t.Fatalf("%q is both form and JSON", ct)
		}
		if mt != strings.ToLower(mt) {
			t.Errorf("mediaType(%q) = %q, not lower case", ct, mt)
		}
	})
}

// FuzzWriteErrorBSON checks that WriteErrorBSON always writes a valid BSON
// document of the shape duo_unix 1.11.3 checks (stat string, code int32,
// message string), with the same status, code and texts as the JSON
// WriteError, whatever the Error holds.
func FuzzWriteErrorBSON(f *testing.F) {
	f.Add(40002, "Invalid request parameters", "user", int64(0))
	f.Add(42901, "Too many requests", "", int64(time.Minute))
	f.Add(50000, "Internal server error", "", int64(0))
	f.Add(99, "x", "y", int64(-1))
	f.Add(60001, "m\x00n", "\x00", int64(1<<62))
	f.Add(40101, "\xff\xfe", "é\u2028", int64(1))
	f.Add(-40002, "", "", int64(-1<<63))
	f.Fuzz(func(t *testing.T, code int, message, detail string, retry int64) {
		e := &Error{Status: code / 100, Code: code, Message: message, Detail: detail, RetryAfter: time.Duration(retry)}
		rec := httptest.NewRecorder()
		WriteErrorBSON(rec, e)
		jrec := httptest.NewRecorder()
		WriteError(jrec, e)

		if rec.Code != jrec.Code {
			t.Fatalf("WriteErrorBSON status %d, WriteError %d", rec.Code, jrec.Code)
		}
		if rec.Code < 400 || rec.Code > 599 {
			t.Fatalf("WriteErrorBSON(%+v) status %d", e, rec.Code)
		}
		if got, want := rec.Header().Get("Retry-After"), jrec.Header().Get("Retry-After"); got != want {
			t.Errorf("Retry-After BSON %q, JSON %q", got, want)
		}
		if ra := rec.Header().Get("Retry-After"); rec.Code == 429 {
			if n, err := strconv.Atoi(ra); err != nil || n < 1 {
				t.Errorf("Retry-After = %q, want whole seconds >= 1", ra)
			}
		}
		if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(rec.Body.Len()) {
			t.Errorf("Content-Length %s for %d bytes", got, rec.Body.Len())
		}
		raw := checkFailBSON(t, rec.Body.Bytes(), rec.Code)

		var j failEnvelope
		if err := json.Unmarshal(jrec.Body.Bytes(), &j); err != nil {
			t.Fatalf("WriteError body %q: %v", jrec.Body.Bytes(), err)
		}
		if int(raw.Lookup("code").Int32()) != j.Code {
			t.Errorf("code BSON %d, JSON %d", raw.Lookup("code").Int32(), j.Code)
		}
		// JSON replaces invalid UTF-8; BSON keeps the bytes.
		if msg := raw.Lookup("message").StringValue(); jsonText(msg) != j.Message {
			t.Errorf("message BSON %q, JSON %q", msg, j.Message)
		}
		d, hasDetail := raw.Lookup("message_detail").StringValueOK()
		if hasDetail != (j.MessageDetail != "") || jsonText(d) != j.MessageDetail {
			t.Errorf("message_detail BSON %q (%v), JSON %q", d, hasDetail, j.MessageDetail)
		}
	})
}

// jsonText is s as encoding/json carries it: each byte of invalid UTF-8
// becomes U+FFFD.
func jsonText(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// checkFailBSON checks a FAIL document as duo_unix reads it.
func checkFailBSON(t *testing.T, body []byte, status int) bson.Raw {
	t.Helper()
	raw := bson.Raw(body)
	if err := raw.Validate(); err != nil {
		t.Fatalf("invalid BSON %q: %v", body, err)
	}
	if s, ok := raw.Lookup("stat").StringValueOK(); !ok || s != "FAIL" {
		t.Fatalf("stat = %v, want string FAIL", raw.Lookup("stat"))
	}
	c, ok := raw.Lookup("code").Int32OK()
	if !ok {
		t.Fatalf("code = %v, want int32", raw.Lookup("code"))
	}
	if int(c)/100 != status {
		t.Errorf("code %d for HTTP %d", c, status)
	}
	if _, ok := raw.Lookup("message").StringValueOK(); !ok {
		t.Fatalf("message = %v, want string", raw.Lookup("message"))
	}
	return raw
}

// FuzzWriteOKBSON checks that WriteOKBSON writes any response document it
// is given back exactly (or, when the encoder refuses it, the 500 BSON
// failure), always as valid BSON.
func FuzzWriteOKBSON(f *testing.F) {
	f.Add("result", "auth", "prompt", "Passcode: ", "1", "sms1")
	f.Add("status", "\x00", "", "", "default", "\xff")
	f.Add("a\x00b", "x", "k", "v", "k", "w")
	f.Add("$where", "é", ".", "\u2028", "response", "")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, fk, fv string) {
		type resp struct {
			Result  string            `bson:"result"`
			Status  string            `bson:"status,omitempty"`
			Prompt  string            `bson:"prompt,omitempty"`
			Factors map[string]string `bson:"factors,omitempty"`
			Extra   bson.D            `bson:"extra"`
		}
		in := resp{Result: v1, Status: v2, Prompt: v1 + v2, Factors: map[string]string{fk: fv},
			Extra: bson.D{{Key: k1, Value: v1}, {Key: k2, Value: v2}}}
		rec := httptest.NewRecorder()
		WriteOKBSON(rec, in)
		body := rec.Body.Bytes()
		if got := rec.Header().Get("Content-Type"); got != ContentTypeBSON {
			t.Errorf("Content-Type = %q", got)
		}
		if rec.Code != http.StatusOK {
			// Only keys holding NUL cannot be encoded.
			if !strings.Contains(k1+k2+fk, "\x00") {
				t.Fatalf("WriteOKBSON(%+v) = %d %q, want 200", in, rec.Code, body)
			}
			if rec.Code != 500 || !bytes.Equal(body, internalBSON()) {
				t.Fatalf("WriteOKBSON refused %+v with %d %q, want the 500 BSON failure", in, rec.Code, body)
			}
			return
		}
		raw := bson.Raw(body)
		if err := raw.Validate(); err != nil {
			t.Fatalf("invalid BSON %q: %v", body, err)
		}
		if s, ok := raw.Lookup("stat").StringValueOK(); !ok || s != "OK" {
			t.Fatalf("stat = %v", raw.Lookup("stat"))
		}
		doc, ok := raw.Lookup("response").DocumentOK()
		if !ok {
			t.Fatalf("response = %v, want a document", raw.Lookup("response"))
		}
		var out resp
		if err := bson.Unmarshal(doc, &out); err != nil {
			t.Fatalf("decode response %v: %v", doc, err)
		}
		if out.Result != in.Result || out.Status != in.Status || out.Prompt != in.Prompt || out.Factors[fk] != fv || len(out.Factors) != 1 {
			t.Errorf("response = %+v, want %+v", out, in)
		}
		if len(out.Extra) != 2 || out.Extra[0].Key != k1 || out.Extra[1].Key != k2 ||
			out.Extra[0].Value != v1 || out.Extra[1].Value != v2 {
			t.Errorf("extra = %v, want %v", out.Extra, in.Extra)
		}
	})
}
