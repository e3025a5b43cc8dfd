package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	"github.com/twostep-auth/twostep/internal/deviceclient/deviceclienttest"
)

// testPassphrase is the vault passphrase harnesses use by default.
const testPassphrase = "correct horse battery staple"

// harness runs the app against a temporary vault.
type harness struct {
	t     *testing.T
	dir   string
	vault string

	mu        sync.Mutex
	env       map[string]string
	passwords []string // answers to passphrase prompts, in order
	prompts   []string // the prompts asked
	now       func() time.Time
	transport http.RoundTripper
	waits     []time.Duration // what the app waited for (backoff, pauses)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{t: t, dir: dir, vault: filepath.Join(dir, "config", "twostep", "vault.age")}
	h.env = map[string]string{
		"HOME":               dir,
		"XDG_CONFIG_HOME":    filepath.Join(dir, "config"),
		"TWOSTEP_PASSPHRASE": testPassphrase,
	}
	return h
}

func (h *harness) setenv(k, v string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v == "" {
		delete(h.env, k)
	} else {
		h.env[k] = v
	}
}

func (h *harness) getenv(k string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.env[k]
}

func (h *harness) readPassword(prompt string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prompts = append(h.prompts, prompt)
	if len(h.passwords) == 0 {
		return "", errNoTerminal
	}
	p := h.passwords[0]
	h.passwords = h.passwords[1:]
	return p, nil
}

// testPendingPause is how long watch pauses between polls while only
// known requests are pending (3 s in real use).
const testPendingPause = 20 * time.Millisecond

// after fires at once and records the wait (backoff): no sleeping in
// tests. The pause between polls of known requests stays a real, short
// timer so that a watch does not spin while a test looks on.
func (h *harness) after(d time.Duration) <-chan time.Time {
	if d == testPendingPause {
		return time.After(d)
	}
	h.mu.Lock()
	h.waits = append(h.waits, d)
	h.mu.Unlock()
	c := make(chan time.Time, 1)
	c <- time.Time{}
	return c
}

func (h *harness) newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	a := newApp(h.getenv, stdin, stdout, stderr)
	a.workFactor = 4
	a.loc = time.UTC
	a.readPassword = h.readPassword
	a.transport = h.transport
	a.after = h.after
	a.pendingPause = testPendingPause
	if h.now != nil {
		a.now = h.now
	}
	return a
}

// result is one run's outcome.
type result struct {
	code   int
	stdout string
	stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs the app to completion with stdin.
func (h *harness) run(stdin string, args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	code := h.newApp(strings.NewReader(stdin), &out, &errb).run(context.Background(), args)
	return result{code, out.String(), errb.String()}
}

// ok runs the app and fails the test unless it exits 0.
func (h *harness) ok(stdin string, args ...string) result {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != 0 {
		h.t.Fatalf("twostep %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// fails runs the app, wants exit status code and a one-line message on
// stderr containing each of want.
func (h *harness) fails(code int, want []string, stdin string, args ...string) result {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != code {
		h.t.Errorf("twostep %s: exit %d, want %d\n%s", strings.Join(args, " "), r.code, code, r)
	}
	last := lastLine(r.stderr)
	for _, w := range want {
		if !strings.Contains(last, w) {
			h.t.Errorf("twostep %s: last stderr line %q does not mention %q", strings.Join(args, " "), last, w)
		}
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		h.t.Errorf("twostep %s printed a Go stack:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// jsonOut runs the app with args and decodes its JSON output into v.
func (h *harness) jsonOut(v any, args ...string) {
	h.t.Helper()
	r := h.ok("", args...)
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		h.t.Fatalf("twostep %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
}

// server starts a fake device API whose CA the harness trusts through
// TWOSTEP_CA_FILE (remove it to check that the saved CA is used).
func (h *harness) server() *deviceclienttest.Server {
	s := deviceclienttest.New(h.t)
	h.setenv("TWOSTEP_CA_FILE", s.CAFile)
	return s
}

// activation is the default fake activation.
var activation = deviceclienttest.ActivationResponse{
	HOTPSecret: "0123456789abcdef0123456789abcdef", HOTPCounter: 3,
	CustomerName: "Example Corp", Username: "alice", UserID: "DUALICE",
}

// activate activates an account on s and returns its pkey.
func (h *harness) activate(s *deviceclienttest.Server, resp deviceclienttest.ActivationResponse, args ...string) string {
	h.t.Helper()
	before := map[string]bool{}
	for _, d := range s.Devices() {
		before[d.PKey] = true
	}
	h.ok("", append([]string{"activate", s.AddActivation(resp)}, args...)...)
	for _, d := range s.Devices() {
		if !before[d.PKey] {
			return d.PKey
		}
	}
	h.t.Fatal("activation registered no device")
	return ""
}

// noNetwork is a transport that fails the test if used.
type noNetwork struct{ t *testing.T }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("unexpected network request: %s %s", r.Method, r.URL)
	return nil, fmt.Errorf("no network in this test")
}

// syncBuffer is a bytes.Buffer safe for a running app and a test.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

// waitFor waits until the output contains want, failing the test after a
// bound.
func (s *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		if strings.Contains(s.b.String(), want) {
			s.mu.Unlock()
			return
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %q in:\n%s", want, s.String())
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// qrFile writes text as a QR code PNG and returns its path.
func qrFile(t *testing.T, text string) string {
	t.Helper()
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		t.Fatal(err)
	}
	code, err = barcode.Scale(code, 300, 300)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 340, 340))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := range 300 {
		for x := range 300 {
			img.Set(x+20, y+20, code.At(x, y))
		}
	}
	path := filepath.Join(t.TempDir(), "qr.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// within waits for a value from c, failing the test after a bound.
func within[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// whitePNG is a blank image.
func whitePNG() []byte {
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
