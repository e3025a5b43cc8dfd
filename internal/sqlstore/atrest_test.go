package sqlstore_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// secretForms are the encodings a secret might be found in at rest.
func secretForms(secret []byte) map[string][]byte {
	forms := map[string][]byte{
		"raw":            secret,
		"hex":            []byte(hex.EncodeToString(secret)),
		"HEX":            []byte(strings.ToUpper(hex.EncodeToString(secret))),
		"base32":         []byte(base32.StdEncoding.EncodeToString(secret)),
		"base32 nopad":   []byte(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)),
		"base64":         []byte(base64.StdEncoding.EncodeToString(secret)),
		"base64 url":     []byte(base64.URLEncoding.EncodeToString(secret)),
		"base64 raw":     []byte(base64.RawStdEncoding.EncodeToString(secret)),
		"base64 raw url": []byte(base64.RawURLEncoding.EncodeToString(secret)),
		"base32 lower":   []byte(strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret))),
		"postgres bytea": []byte(`\x` + hex.EncodeToString(secret)),
	}
	return forms
}

// atRestSecrets stores one of every kind of secret and passcode with known
// values and returns them by name.
func atRestSecrets(t *testing.T, s *sqlstore.Store) map[string][]byte {
	t.Helper()
	ctx := t.Context()
	hotpSeed := []byte("\x9a\x01\xfe\x77\x10\x42\xc3\x88\x5d\x2e\xa1\x00\x7f\x63\xb4\x19\xe2\x5a\x0c\xd7")
	totpSeedB32 := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" // an imported base32 seed
	totpSeed, err := base32.StdEncoding.DecodeString(totpSeedB32)
	if err != nil {
		t.Fatal(err)
	}
	hexSeed, _ := hex.DecodeString("3132333435363738393031323334353637383930a1b2")
	secrets := map[string][]byte{
		"integration skey":     []byte("Zq8vN3kT0bYwR7mXcE4pL2hJ9sD6fG1aU5iO8eWq"),
		"authenticator pubkey": []byte("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9wQ\n-----END PUBLIC KEY-----\n"),
		"authenticator hotp":   hotpSeed,
		"device pubkey":        []byte("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA7d\n-----END PUBLIC KEY-----\n"),
		"device hotp":          []byte("\x11\x8e\x02\xfd\x6c\x3b\xa4\x90\x55\xe7\x21\x0f\xc8\x7a\x19\xb6\x44\xd3\x08\x9e"),
		"activation code 3":    []byte("Rt5Wq9Lm2Xp7Zk4Nb8Vc"),
		"token hotp hex seed":  hexSeed,
		"token totp b32 seed":  totpSeed,
		"yubikey private id":   []byte("\x0c\x1d\x2e\x3f\x4a\x5b"),
		"yubikey aes key":      []byte("\xde\xad\xbe\xef\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98"),
		"bypass code":          []byte("480213597"),
		"bypass code 2":        []byte("736150284"),
		"sms code":             []byte("58301927"),
		"sms code 2":           []byte("90417263"),
		"activation code":      []byte("Xk7pQ2mZr9TfW4bLc8Nd"),
		"activation code 2":    []byte("hV3sJ6yGq1RuE5aKt0Pw"),
		"trusted device token": []byte("q8Zr3LmP0vXw7NcT2bYk5HsJ9dGf4AeU"),
	}
	must(t, "CreateIntegration", s.CreateIntegration(ctx, mfa.Integration{IKey: "DIATREST000000000001",
		SKey: secrets["integration skey"], Type: mfa.IntegrationAuthAPI, Created: epoch}))
	u := newUser(t, s, "DUATREST000000000001", "atrest")
	must(t, "CreatePhone", s.CreatePhone(ctx, mfa.Phone{ID: "DPATREST000000000001", Type: mfa.PhoneMobile, Number: "+15550001111", Created: epoch}))
	must(t, "ActivateAuthenticator", s.ActivateAuthenticator(ctx, mfa.Authenticator{ID: "DAATREST000000000001",
		PhoneID: "DPATREST000000000001", PublicKey: secrets["authenticator pubkey"], HOTPSecret: hotpSeed, Created: epoch}))
	must(t, "CreateToken h6", s.CreateToken(ctx, mfa.Token{ID: "DHATREST000000000001", Type: mfa.TokenH6, Serial: "h6-1",
		Secret: hexSeed, Created: epoch}))
	must(t, "CreateToken t6", s.CreateToken(ctx, mfa.Token{ID: "DHATREST000000000002", Type: mfa.TokenT6, Serial: "t6-1",
		Secret: totpSeed, TOTPStep: 30, Created: epoch}))
	must(t, "CreateToken yk", s.CreateToken(ctx, mfa.Token{ID: "DHATREST000000000003", Type: mfa.TokenYK, Serial: "yk-1",
		PrivateID: secrets["yubikey private id"], AESKey: secrets["yubikey aes key"], Created: epoch}))
	must(t, "CreateBypassCodes", s.CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: u.ID, Codes: []mfa.BypassCode{
		{ID: "DBATREST000000000001", Code: "480213597", UsesLeft: 2, Created: epoch},
		{ID: "DBATREST000000000002", Code: "736150284", Unlimited: true, Created: epoch},
	}}, epoch))
	must(t, "ReplaceSMSBatch", s.ReplaceSMSBatch(ctx, mfa.SMSBatch{ID: "DSATREST000000000001", UserID: u.ID,
		PhoneID: "DPATREST000000000001", Codes: []mfa.Passcode{"58301927", "90417263"}, Created: epoch}))
	must(t, "CreateActivation", s.CreateActivation(ctx, mfa.Activation{ID: "DVATREST000000000001", Code: "Xk7pQ2mZr9TfW4bLc8Nd",
		UserID: u.ID, Created: epoch, Expires: epoch.Add(time.Hour)}))
	must(t, "CreateActivation 2", s.CreateActivation(ctx, mfa.Activation{ID: "DVATREST000000000002", Code: "hV3sJ6yGq1RuE5aKt0Pw",
		UserID: u.ID, PhoneID: "DPATREST000000000001", Created: epoch, Expires: epoch.Add(time.Hour)}))
	if _, err := s.RedeemActivation(ctx, "hV3sJ6yGq1RuE5aKt0Pw", epoch.Add(time.Minute)); err != nil {
		t.Fatalf("RedeemActivation() = %v", err)
	}
	must(t, "CreateTrustedDevice", s.CreateTrustedDevice(ctx, mfa.TrustedDevice{ID: "DTATREST000000000001",
		Token: mfa.Passcode(secrets["trusted device token"]), UserID: u.ID, IKey: "DIATREST000000000001",
		Created: epoch, Expires: epoch.Add(24 * time.Hour)}))
	// A device made through CompleteActivation seals its secrets too.
	must(t, "CreateActivation 3", s.CreateActivation(ctx, mfa.Activation{ID: "DVATREST000000000003", Code: "Rt5Wq9Lm2Xp7Zk4Nb8Vc",
		UserID: u.ID, Created: epoch, Expires: epoch.Add(time.Hour)}))
	if _, _, err := s.CompleteActivation(ctx, "Rt5Wq9Lm2Xp7Zk4Nb8Vc", epoch.Add(time.Minute),
		mfa.Phone{ID: "DPATREST000000000002", Type: mfa.PhoneMobile, Created: epoch},
		mfa.Authenticator{ID: "DAATREST000000000002", PublicKey: secrets["device pubkey"], HOTPSecret: secrets["device hotp"], Created: epoch}); err != nil {
		t.Fatalf("CompleteActivation() = %v", err)
	}
	// Use a code, so that the stored forms after a write are checked too.
	if _, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Guard: mfa.Guard{Kind: mfa.GuardSMSCode, Code: "58301927", Now: epoch}}); err != nil {
		t.Fatalf("ApplyAuth(sms) = %v", err)
	}
	return secrets
}

// findSecrets reports every secret form found in data, which is named where.
func findSecrets(t *testing.T, where string, data []byte, secrets map[string][]byte) {
	t.Helper()
	for name, secret := range secrets {
		for form, b := range secretForms(secret) {
			if bytes.Contains(data, b) {
				t.Errorf("%s holds the %s in %s form (%q)", where, name, form, b)
			}
		}
	}
}

func TestNoSecretAtRestSQLite(t *testing.T) {
	path := sqltest.SQLitePath(t)
	s := sqltest.NewStore(t, path)
	secrets := atRestSecrets(t, s)

	// Read the raw file after a checkpoint, and the WAL if any is left.
	db := rawDB(t, path)
	if _, err := db.ExecContext(t.Context(), `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatalf("wal_checkpoint: %v", err)
	}
	var total int
	for _, f := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		total += len(data)
		findSecrets(t, f, data, secrets)
	}
	if total == 0 {
		t.Fatal("read no database bytes")
	}
	// The test must be able to fail: the known non-secret values are there.
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte("DIATREST000000000001")) || !bytes.Contains(data, []byte("+15550001111")) {
		t.Error("the database file does not hold the integration key and phone number; is the file checkpointed?")
	}
}

func TestNoSecretAtRestPostgres(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	s := sqltest.NewStore(t, dsn)
	secrets := atRestSecrets(t, s)

	db := rawDB(t, dsn)
	ctx := t.Context()
	rows, err := db.QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("found tables %v, want the whole schema", tables)
	}
	var all bytes.Buffer
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, `SELECT t::text FROM `+table+` t`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			findSecrets(t, "row of "+table+" "+row, []byte(row), secrets)
			all.WriteString(row)
		}
		rows.Close()
	}
	if !bytes.Contains(all.Bytes(), []byte("DIATREST000000000001")) || !bytes.Contains(all.Bytes(), []byte("+15550001111")) {
		t.Error("the rows do not hold the integration key and phone number; did the test read the schema?")
	}
}
