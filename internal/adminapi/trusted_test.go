package adminapi_test

import (
	"crypto/rand"
	"net/url"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func TestForgetTrustedDevices(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	auth := f.Integration(mfa.IntegrationAuthAPI, mfa.AdminPermissions{})
	uid, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	alice := mfa.User{ID: uid, Username: "alice", Status: mfa.StatusActive, Created: time.Now()}
	if err := f.Store.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	trust := func(token string) {
		t.Helper()
		id, _ := mfa.NewID(mfa.PrefixTrustedDevice, rand.Reader)
		if err := f.Store.CreateTrustedDevice(ctx, mfa.TrustedDevice{ID: id, Token: mfa.Passcode(token), UserID: alice.ID,
			IKey: auth.IKey, Created: time.Now(), Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	trust("token-one")
	trust("token-two")
	path := "/admin/v1/users/" + alice.ID + "/trusted_devices"

	var got struct {
		Deleted *int `json:"deleted"`
	}
	f.OK(f.Call(f.Key, "DELETE", path, nil), &got)
	if got.Deleted == nil || *got.Deleted != 2 {
		t.Errorf("DELETE %s = %+v, want deleted 2", path, got)
	}
	if _, err := f.Store.CheckTrustedDevice(ctx, "token-one", alice.ID, auth.IKey, time.Now()); err == nil {
		t.Error("a forgotten remembered device still passes")
	}
	f.OK(f.Call(f.Key, "DELETE", path, nil), &got)
	if *got.Deleted != 0 {
		t.Errorf("DELETE %s again = %d, want 0", path, *got.Deleted)
	}
	status, raw := f.Raw(f.Key, "DELETE", path, nil)
	if status != 200 || string(raw) != `{"stat":"OK","response":{"deleted":0}}` {
		t.Errorf("DELETE %s = %d %s, want {\"stat\":\"OK\",\"response\":{\"deleted\":0}}", path, status, raw)
	}

	if r := f.Call(f.Key, "DELETE", "/admin/v1/users/DUNOBODY000000000000/trusted_devices", nil); r.Status != 404 || r.Code != 40401 {
		t.Errorf("DELETE for an unknown user = %d %d, want 404 40401", r.Status, r.Code)
	}
	readOnly := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadResource: true})
	trust("token-three")
	if r := f.Call(readOnly, "DELETE", path, url.Values{}); r.Status != 403 || r.Code != 40301 {
		t.Errorf("DELETE without write_resource = %d %d, want 403 40301", r.Status, r.Code)
	}
	if _, err := f.Store.CheckTrustedDevice(ctx, "token-three", alice.ID, auth.IKey, time.Now()); err != nil {
		t.Errorf("a refused DELETE forgot the device: %v", err)
	}

	logs, err := f.Store.ListAdminLog(ctx, mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range logs {
		if l.Action == "user_forget_trusted_devices" && l.Object == alice.ID && l.Actor == f.Key.IKey && l.ActorKind == "integration" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("admin log has %d user_forget_trusted_devices records by the integration, want 3", n)
	}
}
