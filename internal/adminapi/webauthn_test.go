package adminapi_test

import (
	"crypto/rand"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestWebAuthnCredentials: list, get, a user's list and the user object
// in Duo's shape (golden files); delete with its admin log record;
// unknown ids 404; a read-only integration cannot delete; an
// integration without read_resource cannot read.
func TestWebAuthnCredentials(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	uid, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	alice := mfa.User{ID: uid, Username: "alice", RealName: "Alice Example", Email: "alice@example.com", Status: mfa.StatusActive, Created: time.Now()}
	if err := f.Store.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	added := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	keys := []mfa.WebAuthnCredential{
		{ID: "WAGOLDEN000000000001", UserID: alice.ID, Name: "Blue YubiKey", CredentialID: []byte("cred-1"), PublicKey: []byte("pk-1"),
			AAGUID:     []byte{0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8},
			Transports: []string{"usb", "nfc"}, Attachment: mfa.AttachmentCrossPlatform, SignCount: 7, Created: added,
			LastUsed: added.Add(time.Hour)},
		{ID: "WAGOLDEN000000000002", UserID: alice.ID, Name: "MacBook Touch ID", CredentialID: []byte("cred-2"), PublicKey: []byte("pk-2"),
			Transports: []string{"internal"}, Attachment: mfa.AttachmentPlatform, BackupEligible: true, BackupState: true,
			Created: added.Add(time.Minute), Cloned: true},
	}
	for _, k := range keys {
		if err := f.Store.CreateWebAuthnCredential(ctx, k); err != nil {
			t.Fatal(err)
		}
	}

	r := f.Call(f.Key, "GET", "/admin/v1/webauthncredentials", nil)
	f.OK(r, nil)
	golden(t, "webauthncredentials_list", mustRaw(t, f, "GET", "/admin/v1/webauthncredentials", nil))
	golden(t, "webauthncredential_get", mustRaw(t, f, "GET", "/admin/v1/webauthncredentials/WAGOLDEN000000000001", nil))
	golden(t, "user_webauthncredentials", mustRaw(t, f, "GET", "/admin/v1/users/"+alice.ID+"/webauthncredentials", nil))
	golden(t, "user_get_webauthn", mustRaw(t, f, "GET", "/admin/v1/users/"+alice.ID, nil))

	var page []struct {
		WebAuthnKey string `json:"webauthnkey"`
	}
	f.OK(f.Call(f.Key, "GET", "/admin/v1/webauthncredentials", url.Values{"limit": {"1"}, "offset": {"1"}}), &page)
	if len(page) != 1 || page[0].WebAuthnKey != "WAGOLDEN000000000002" {
		t.Errorf("page 2 of 1 = %+v, want the second key", page)
	}

	for _, path := range []string{"/admin/v1/webauthncredentials/WANOSUCHKEY000000000", "/admin/v1/users/DUNOBODY000000000000/webauthncredentials"} {
		if r := f.Call(f.Key, "GET", path, nil); r.Status != 404 || r.Code != 40401 {
			t.Errorf("GET %s = %d %d, want 404 40401", path, r.Status, r.Code)
		}
	}
	// Deleting is idempotent, as every Duo DELETE: an unknown key is OK.
	f.OK(f.Call(f.Key, "DELETE", "/admin/v1/webauthncredentials/WANOSUCHKEY000000000", nil), nil)
	readOnly := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadResource: true})
	if r := f.Call(readOnly, "DELETE", "/admin/v1/webauthncredentials/WAGOLDEN000000000001", nil); r.Status != 403 || r.Code != 40301 {
		t.Errorf("DELETE without write_resource = %d %d, want 403 40301", r.Status, r.Code)
	}
	noRead := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{Settings: true})
	if r := f.Call(noRead, "GET", "/admin/v1/webauthncredentials", nil); r.Status != 403 || r.Code != 40301 {
		t.Errorf("GET without read_resource = %d %d, want 403 40301", r.Status, r.Code)
	}
	authAPI := f.Integration(mfa.IntegrationAuthAPI, mfa.AdminPermissions{})
	if r := f.Call(authAPI, "GET", "/admin/v1/webauthncredentials", nil); r.Status == 200 {
		t.Errorf("GET with an Auth API integration = %d, want refused", r.Status)
	}
	if _, err := f.Store.GetWebAuthnCredential(ctx, "WAGOLDEN000000000001"); err != nil {
		t.Fatalf("a refused DELETE removed the key: %v", err)
	}

	f.OK(f.Call(f.Key, "DELETE", "/admin/v1/webauthncredentials/WAGOLDEN000000000002", nil), nil)
	if _, err := f.Store.GetWebAuthnCredential(ctx, "WAGOLDEN000000000002"); mfa.KindOf(err) != mfa.NotFound {
		t.Errorf("after DELETE, GetWebAuthnCredential = %v, want NotFound", err)
	}
	logs, err := f.Store.ListAdminLog(ctx, mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range logs {
		if l.Action == "webauthncredential_delete" && l.Object == "WAGOLDEN000000000002" && l.Actor == f.Key.IKey {
			n++
		}
	}
	if n != 1 {
		t.Errorf("admin log has %d webauthncredential_delete records, want 1", n)
	}
}

// TestWebAuthnSettings: the security key settings change through
// /admin/v1/settings, bad values are 40002 naming the parameter.
func TestWebAuthnSettings(t *testing.T) {
	f := newFixture(t)
	var got struct {
		Attestation string   `json:"webauthn_attestation"`
		AAGUIDs     []string `json:"webauthn_aaguids"`
		UV          string   `json:"webauthn_user_verification"`
	}
	f.OK(f.Call(f.Key, "POST", "/admin/v1/settings", url.Values{"webauthn_attestation": {"allowed"},
		"webauthn_aaguids":           {"CB69481E-8FF7-4039-93EC-0A2729A154A8, ee882879-721c-4913-9775-3dfcce97072a"},
		"webauthn_user_verification": {"required"}}), &got)
	if got.Attestation != "allowed" || got.UV != "required" || len(got.AAGUIDs) != 2 || got.AAGUIDs[0] != "cb69481e-8ff7-4039-93ec-0a2729a154a8" {
		t.Errorf("settings = %+v", got)
	}
	for _, tt := range []struct {
		params url.Values
		field  string
	}{
		{url.Values{"webauthn_attestation": {"direct"}}, "webauthn_attestation"},
		{url.Values{"webauthn_user_verification": {"discouraged"}}, "webauthn_user_verification"},
		{url.Values{"webauthn_aaguids": {"not-a-uuid"}}, "webauthn_aaguids"},
		{url.Values{"webauthn_aaguids": {""}}, "webauthn_aaguids"}, // allowed with an empty list
	} {
		if r := f.Call(f.Key, "POST", "/admin/v1/settings", tt.params); r.Status != 400 || r.Code != 40002 || !strings.HasPrefix(r.MessageDetail, tt.field+":") {
			t.Errorf("POST settings %v = %d %d %q, want 400 40002 %s", tt.params, r.Status, r.Code, r.MessageDetail, tt.field)
		}
	}
}

func mustRaw(t *testing.T, f *fixture, method, path string, params url.Values) []byte {
	t.Helper()
	status, raw := f.Raw(f.Key, method, path, params)
	if status != 200 {
		t.Fatalf("%s %s = %d %s", method, path, status, raw)
	}
	return raw
}
