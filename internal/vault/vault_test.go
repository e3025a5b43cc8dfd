package vault_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/vault"
)

// testWorkFactor keeps scrypt fast in tests; the default is 18.
const testWorkFactor = 4

// passphrases records how a vault asked for its passphrase.
type passphrases struct {
	give  string
	mu    sync.Mutex
	calls []bool // the create argument of each call
}

func (p *passphrases) fn(create bool) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, create)
	return p.give, nil
}

func (p *passphrases) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

func newVault(path, pass string) (*vault.Vault, *passphrases) {
	p := &passphrases{give: pass}
	return vault.Open(path, vault.Options{Passphrase: p.fn, WorkFactor: testWorkFactor}), p
}

func hotpAccount(name string) vault.Account {
	return vault.Account{Name: name, Kind: vault.KindOTPAuth, Secret: vault.Secret("12345678901234567890"),
		Algorithm: vault.SHA1, Digits: 6, Created: now}
}

func twostepAccount(name string) vault.Account {
	return vault.Account{Name: name, Kind: vault.KindTwostep, Secret: vault.Secret("0123456789abcdef0123456789abcdef"),
		Algorithm: vault.SHA1, Digits: 6, APIHost: "2fa.example.com", PKey: "DPXXXXXXXXXXXXXXXXXX", AKey: "DAXXXXXXXXXXXXXXXXXX",
		PrivateKey: "-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n", Username: "alice",
		UserID: "DU1", CustomerName: "Example Corp", Created: now}
}

func add(t *testing.T, v *vault.Vault, accounts ...vault.Account) {
	t.Helper()
	err := v.Update(func(d *vault.Data) error {
		for _, a := range accounts {
			if err := d.Add(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update(add): %v", err)
	}
}

func TestCreateAndReopenEncrypted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg", "twostep", "vault.age")
	v, p := newVault(path, "correct horse")
	add(t, v, twostepAccount("Example Corp (alice)"), hotpAccount("GitHub:alice"))
	if diff := cmp.Diff([]bool{true}, p.calls); diff != "" {
		t.Errorf("passphrase calls (create flags) mismatch (-want +got):\n%s", diff)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n")) {
		t.Errorf("vault file starts %q, want an age header", raw[:20])
	}
	for _, secret := range []string{"alice", "0123456789abcdef", "MIIsecret", "Example"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("encrypted vault file contains %q in clear", secret)
		}
	}

	v2, p2 := newVault(path, "correct horse")
	d, err := v2.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff([]bool{false}, p2.calls); diff != "" {
		t.Errorf("passphrase calls on reopen mismatch (-want +got):\n%s", diff)
	}
	want := []vault.Account{twostepAccount("Example Corp (alice)"), hotpAccount("GitHub:alice")}
	if diff := cmp.Diff(want, d.Accounts); diff != "" {
		t.Errorf("Load() accounts mismatch (-want +got):\n%s", diff)
	}
	// Later operations on the same Vault ask no more.
	if err := v2.Update(func(d *vault.Data) error { a, _ := d.Lookup("github:ALICE"); return a.Next() }); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Load(); err != nil {
		t.Fatal(err)
	}
	if p2.count() != 1 {
		t.Errorf("passphrase asked %d times, want 1", p2.count())
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "twostep")
	path := filepath.Join(dir, "vault.age")
	v, _ := newVault(path, "pw")
	add(t, v, hotpAccount("a"))
	for _, tt := range []struct {
		path string
		want fs.FileMode
	}{
		{dir, fs.ModeDir | 0o700},
		{path, 0o600},
		{path + ".lock", 0o600},
	} {
		st, err := os.Stat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != tt.want {
			t.Errorf("mode of %s = %v, want %v", tt.path, st.Mode(), tt.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"vault.age", "vault.age.lock"}, names); diff != "" {
		t.Errorf("directory holds leftovers (-want +got):\n%s", diff)
	}
}

func TestNoPassphraseVault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.age")
	v := vault.Open(path, vault.Options{NoPassphrase: true})
	add(t, v, hotpAccount("a"))
	raw, _ := os.ReadFile(path)
	if !bytes.Contains(raw, []byte(`"encrypted": false`)) || !bytes.Contains(raw, []byte(`"format": "twostep-vault"`)) {
		t.Errorf("unencrypted vault is not marked as such:\n%s", raw)
	}
	// Later opens need neither the flag nor a passphrase.
	asked := false
	v2 := vault.Open(path, vault.Options{Passphrase: func(bool) (string, error) { asked = true; return "x", nil }})
	add(t, v2, hotpAccount("b"))
	d, err := vault.Open(path, vault.Options{}).Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Accounts) != 2 || asked {
		t.Errorf("Load() = %d accounts (asked for a passphrase: %v), want 2 and not asked", len(d.Accounts), asked)
	}
}

func TestCreateNeedsPassphraseOrExplicitNone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.age")
	err := vault.Open(path, vault.Options{}).Update(func(d *vault.Data) error { return d.Add(hotpAccount("a")) })
	if !errors.Is(err, vault.ErrPassphraseRequired) {
		t.Errorf("Update() on a new vault without passphrase = %v, want ErrPassphraseRequired", err)
	}
	err = vault.Open(path, vault.Options{Passphrase: func(bool) (string, error) { return "", nil }}).Unlock()
	if !errors.Is(err, vault.ErrPassphraseRequired) {
		t.Errorf("Unlock() with an empty passphrase = %v, want ErrPassphraseRequired", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("vault file exists after failed creates: %v", err)
	}
}

func TestLoadMissingVaultAsksNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.age")
	v, p := newVault(path, "pw")
	if _, err := v.Load(); !errors.Is(err, vault.ErrNoVault) {
		t.Errorf("Load() = %v, want ErrNoVault", err)
	}
	if p.count() != 0 {
		t.Errorf("Load() of a missing vault asked for a passphrase")
	}
}

// makeVault writes an encrypted vault and returns its bytes.
func makeVault(t *testing.T, path string) []byte {
	t.Helper()
	v, _ := newVault(path, "right")
	add(t, v, twostepAccount("Example Corp (alice)"))
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// mustFailUnchanged checks that opening the vault fails with want, that an
// Update fails too and that the file is left exactly as it was.
func mustFailUnchanged(t *testing.T, path, pass string, want error) {
	t.Helper()
	before, _ := os.ReadFile(path)
	v, _ := newVault(path, pass)
	if _, err := v.Load(); !errors.Is(err, want) {
		t.Errorf("Load() = %v, want %v", err, want)
	} else if !strings.Contains(err.Error(), path) {
		t.Errorf("Load() = %q, want the message to name %s", err, path)
	}
	called := false
	err := v.Update(func(d *vault.Data) error { called = true; return d.Add(hotpAccount("new")) })
	if !errors.Is(err, want) || called {
		t.Errorf("Update() = %v (fn called: %v), want %v and fn not called", err, called, want)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Errorf("vault file changed after a failed open")
	}
}

func TestWrongPassphrase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.age")
	makeVault(t, path)
	mustFailUnchanged(t, path, "wrong", vault.ErrWrongPassphrase)
}

func TestTruncatedVault(t *testing.T) {
	dir := t.TempDir()
	full := makeVault(t, filepath.Join(dir, "full.age"))
	header := bytes.Index(full, []byte("\n---")) // end of the age header
	for _, n := range []int{0, 1, 10, 25, header / 2, header, header + 10, len(full) - 40, len(full) - 1} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("cut%d.age", n))
			if err := os.WriteFile(path, full[:n], 0o600); err != nil {
				t.Fatal(err)
			}
			want := vault.ErrCorrupt
			if n > 0 && n < len("age-encryption.org/") {
				want = vault.ErrNotVault // too short to tell it was ever age
			}
			mustFailUnchanged(t, path, "right", want)
		})
	}
}

func TestTruncatedPlainVault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.age")
	add(t, vault.Open(path, vault.Options{NoPassphrase: true}), hotpAccount("a"))
	raw, _ := os.ReadFile(path)
	if err := os.WriteFile(path, raw[:len(raw)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	mustFailUnchanged(t, path, "", vault.ErrCorrupt)
}

func TestGarbageVault(t *testing.T) {
	tests := []struct {
		name string
		give []byte
		want error
	}{
		{"binary", []byte("\x00\x01\x02garbage\xff"), vault.ErrNotVault},
		{"text", []byte("hello world\n"), vault.ErrNotVault},
		{"other json", []byte(`{"hello":"world"}`), vault.ErrNotVault},
		{"json array", []byte(`[1,2,3]`), vault.ErrNotVault},
		{"marker lies", []byte(`{"format":"twostep-vault","version":1,"encrypted":true,"accounts":[]}`), vault.ErrCorrupt},
		{"newer", []byte(`{"format":"twostep-vault","version":99,"encrypted":false,"accounts":[]}`), vault.ErrNewerFormat},
		{"bad account", []byte(`{"format":"twostep-vault","version":1,"encrypted":false,"accounts":[{"name":"x","kind":"sms"}]}`), vault.ErrCorrupt},
		{"age garbage", []byte("age-encryption.org/v1\n-> X25519 garbage\n--- abc\n"), vault.ErrCorrupt},
		{"blank", []byte("  \n"), vault.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vault.age")
			if err := os.WriteFile(path, tt.give, 0o600); err != nil {
				t.Fatal(err)
			}
			mustFailUnchanged(t, path, "pw", tt.want)
		})
	}
}

func TestConcurrentWritersGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.age")
	v0, _ := newVault(path, "pw")
	add(t, v0, hotpAccount("shared"))
	const n = 16
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range n {
		wg.Go(func() {
			v, _ := newVault(path, "pw") // a separate Vault: as another process would have
			err := v.Update(func(d *vault.Data) error {
				a, err := d.Lookup("shared")
				if err != nil {
					return err
				}
				return a.Next()
			})
			if err != nil {
				t.Error(err)
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := counter(t, path); got != n {
		t.Errorf("counter after %d concurrent Next = %d, want %d", n, got, n)
	}
}

func counter(t *testing.T, path string) uint64 {
	t.Helper()
	v, _ := newVault(path, "pw")
	d, err := v.Load()
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.Lookup("shared")
	if err != nil {
		t.Fatal(err)
	}
	return a.Counter
}

// TestConcurrentWritersProcesses runs this test binary as several child
// processes, each advancing the same counter several times.
func TestConcurrentWritersProcesses(t *testing.T) {
	if path := os.Getenv("VAULT_TEST_CHILD_PATH"); path != "" {
		for range 5 {
			v, _ := newVault(path, "pw")
			if err := v.Update(func(d *vault.Data) error { a, _ := d.Lookup("shared"); return a.Next() }); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
		return
	}
	path := filepath.Join(t.TempDir(), "vault.age")
	v0, _ := newVault(path, "pw")
	add(t, v0, hotpAccount("shared"))
	const procs = 6
	var wg sync.WaitGroup
	for range procs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentWritersProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(), "VAULT_TEST_CHILD_PATH="+path)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("child: %v\n%s", err, out)
			}
		})
	}
	wg.Wait()
	if got := counter(t, path); got != procs*5 {
		t.Errorf("counter after %d processes x 5 Next = %d, want %d", procs, got, procs*5)
	}
}

func TestUpdateErrorWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.age")
	before := makeVault(t, path)
	v, _ := newVault(path, "right")
	boom := errors.New("boom")
	if err := v.Update(func(d *vault.Data) error { d.Accounts = nil; return boom }); !errors.Is(err, boom) {
		t.Errorf("Update() = %v, want boom", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("vault file changed after fn failed")
	}
	// Invalid data is refused, not written.
	err := v.Update(func(d *vault.Data) error { d.Accounts = append(d.Accounts, d.Accounts[0]); return nil })
	if !errors.Is(err, vault.ErrDuplicate) {
		t.Errorf("Update() with duplicate names = %v, want ErrDuplicate", err)
	}
}

func TestDataOperations(t *testing.T) {
	d := &vault.Data{}
	if err := d.Add(hotpAccount("GitHub:alice")); err != nil {
		t.Fatal(err)
	}
	if err := d.Add(hotpAccount("github:ALICE")); !errors.Is(err, vault.ErrDuplicate) {
		t.Errorf("Add(case variant) = %v, want ErrDuplicate", err)
	}
	if err := d.Add(hotpAccount(" padded")); err == nil {
		t.Error("Add(' padded') = nil, want an error")
	}
	if _, err := d.Lookup("GITHUB:alice"); err != nil {
		t.Errorf("Lookup(case variant) = %v", err)
	}
	if _, err := d.Lookup("nope"); !errors.Is(err, vault.ErrNoAccount) {
		t.Errorf("Lookup(nope) = %v, want ErrNoAccount", err)
	}
	if got := d.UniqueName("github:alice"); got != "github:alice #2" {
		t.Errorf("UniqueName = %q, want %q", got, "github:alice #2")
	}
	d.Add(hotpAccount("b"))
	if err := d.Rename("b", "GitHub:Alice"); !errors.Is(err, vault.ErrDuplicate) {
		t.Errorf("Rename onto an existing name = %v, want ErrDuplicate", err)
	}
	if err := d.Rename("github:alice", "GitHub:Alice"); err != nil {
		t.Errorf("Rename changing case = %v", err)
	}
	if err := d.Rename("b", "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Remove("C"); err != nil {
		t.Fatal(err)
	}
	if len(d.Accounts) != 1 || d.Accounts[0].Name != "GitHub:Alice" {
		t.Errorf("accounts = %v", d.Accounts)
	}
}

func TestDefaultName(t *testing.T) {
	tests := []struct {
		customer, user, host, want string
	}{
		{"Example Corp", "alice", "h", "Example Corp (alice)"},
		{"Example Corp", "", "h", "Example Corp"},
		{"", "alice", "2fa.example.com", "alice@2fa.example.com"},
		{"", "", "2fa.example.com:8443", "2fa.example.com:8443"},
		{" Evil\nCorp\x00 ", "bob\t", "h", "EvilCorp (bob)"},
	}
	for _, tt := range tests {
		if got := vault.DefaultName(tt.customer, tt.user, tt.host); got != tt.want {
			t.Errorf("DefaultName(%q, %q, %q) = %q, want %q", tt.customer, tt.user, tt.host, got, tt.want)
		}
	}
}

func TestSecretsRedacted(t *testing.T) {
	a := twostepAccount("Example Corp (alice)")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("account", "account", a, "secret", a.Secret, "key", a.PrivateKey)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", a),
		"%+v":  fmt.Sprintf("%+v", a),
		"%#v":  fmt.Sprintf("%#v", a),
		"%s":   fmt.Sprintf("%s", a.Secret),
		"%x":   fmt.Sprintf("%x", a.Secret),
		"%q":   fmt.Sprintf("%q", a.PrivateKey),
		"slog": logs.String(),
	}
	for verb, out := range outputs {
		for _, secret := range []string{"0123456789abcdef", "MIIsecret", "MDEyMzQ1Njc4OWFiY2RlZj"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output reveals a secret: %s", verb, out)
			}
		}
	}
	if !strings.Contains(logs.String(), "Example Corp (alice)") {
		t.Errorf("slog output lacks the account name: %s", logs.String())
	}
}

func TestBundle(t *testing.T) {
	accounts := []vault.Account{twostepAccount("Example Corp (alice)"), hotpAccount("GitHub:alice")}
	raw, err := vault.SealBundle(accounts, "bundle pw", testWorkFactor, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := vault.OpenBundle(raw, "bundle pw")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(accounts, got); diff != "" {
		t.Errorf("OpenBundle() mismatch (-want +got):\n%s", diff)
	}
	tests := []struct {
		name string
		raw  []byte
		pass string
		want error
	}{
		{"wrong passphrase", raw, "nope", vault.ErrWrongPassphrase},
		{"truncated", raw[:len(raw)-5], "bundle pw", vault.ErrCorrupt},
		{"garbage", []byte("hello"), "bundle pw", vault.ErrNotBundle},
		{"empty", nil, "bundle pw", vault.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := vault.OpenBundle(tt.raw, tt.pass); !errors.Is(err, tt.want) {
				t.Errorf("OpenBundle() = %v, want %v", err, tt.want)
			}
		})
	}
	// A vault file is not a bundle.
	path := filepath.Join(t.TempDir(), "vault.age")
	vraw := makeVault(t, path)
	if _, err := vault.OpenBundle(vraw, "right"); !errors.Is(err, vault.ErrNotBundle) {
		t.Errorf("OpenBundle(a vault) = %v, want ErrNotBundle", err)
	}
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	for i, content := range []string{"one", "two"} {
		if err := vault.WriteFileAtomic(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != content {
			t.Errorf("write %d: file = %q, want %q", i, got, content)
		}
	}
}
