package adminapi_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// py5 reproduces duo_client_python 5.x's requests byte for byte (5.6.1,
// duo_client/client.py api_call): signature v5 with HMAC-SHA512 over the
// host without its port; the Date header from email.utils.formatdate
// ("-0000"); GET and DELETE parameters in the query string in the order
// the caller built them (urllib's urlencode, "?" even when empty); POST
// parameters as json.dumps(params, sort_keys=True, separators=(',',':'))
// with Content-type application/json.
type py5 struct {
	t    *testing.T
	f    *fixture
	in   mfa.Integration
	body func(params map[string]any) []byte // the body sent; nil: the one signed
}

// kv is one ordered query parameter.
type kv struct{ k, v string }

// pyJSON is Python's json.dumps(v, sort_keys=True, separators=(',',':')):
// Go's map encoding sorts keys and is compact; Python escapes every
// non-ASCII character (ensure_ascii) and no HTML characters.
func pyJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	var out strings.Builder
	for _, r := range strings.TrimSuffix(buf.String(), "\n") {
		if r < 0x80 {
			out.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, `\u%04x`, u)
		}
	}
	return []byte(out.String())
}

// do sends one request as duo_client_python 5.x would and decodes Duo's
// envelope.
func (p *py5) do(method, path string, query []kv, params map[string]any) Response {
	p.t.Helper()
	status, raw := p.raw(method, path, query, params)
	var r Response
	if err := json.Unmarshal(raw, &r); err != nil {
		p.t.Fatalf("%s %s: body %q is not a Duo envelope: %v", method, path, raw, err)
	}
	r.Status = status
	return r
}

func (p *py5) raw(method, path string, query []kv, params map[string]any) (int, []byte) {
	p.t.Helper()
	uri := path
	var body []byte
	if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		if params == nil {
			params = map[string]any{}
		}
		body = pyJSON(params)
	} else {
		var q []string
		for _, e := range query {
			q = append(q, url.QueryEscape(e.k)+"="+url.QueryEscape(e.v))
		}
		uri += "?" + strings.Join(q, "&")
	}
	req, err := http.NewRequest(method, "https://"+p.f.Host+uri, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Date", time.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 -0000"))
	req.Header.Set("User-Agent", "Duo API Python/5.6.1")
	if body != nil {
		req.Header.Set("Content-type", "application/json")
	}
	// duo_client_python signs the host without the port it connects to.
	hostname, _, _ := net.SplitHostPort(p.f.Host)
	req.Host = hostname
	if err := duoproto.SignRequest(req, p.in.IKey, string(p.in.SKey.Reveal()), 5, body); err != nil {
		p.t.Fatal(err)
	}
	req.Host = "" // sent as host:port, as http.client does
	if body != nil && p.body != nil {
		sent := p.body(params)
		req.Body = io.NopCloser(bytes.NewReader(sent))
		req.ContentLength = int64(len(sent))
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.f.pool}}}
	resp, err := c.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// paging is json_paging_api_call: limit (paging_limit 100) and offset
// until metadata.next_offset is absent.
func (p *py5) paging(path string) []json.RawMessage {
	p.t.Helper()
	var all []json.RawMessage
	next := "0"
	for pages := 0; next != ""; pages++ {
		if pages > 100 {
			p.t.Fatalf("%s: more than 100 pages", path)
		}
		r := p.do(http.MethodGet, path, []kv{{"limit", "100"}, {"offset", next}}, nil)
		var objs []json.RawMessage
		p.f.OK(r, &objs)
		all = append(all, objs...)
		var meta struct {
			NextOffset *int `json:"next_offset"`
		}
		if len(r.Metadata) > 0 {
			if err := json.Unmarshal(r.Metadata, &meta); err != nil {
				p.t.Fatalf("metadata %s: %v", r.Metadata, err)
			}
		}
		next = ""
		if meta.NextOffset != nil {
			next = fmt.Sprint(*meta.NextOffset)
		}
	}
	return all
}
