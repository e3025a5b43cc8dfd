package adminapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/password"
)

func TestUserPassword(t *testing.T) {
	f := newFixture(t)
	var u struct {
		UserID string `json:"user_id"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/users", url.Values{"username": {"jsmith"}, "email": {"john.smith@example.com"}}), &u)
	path := "/admin/v1/users/" + u.UserID + "/password"

	f.OK(f.Call(f.Key, http.MethodPost, path, url.Values{"password": {" correct horse battery staple "}}), nil)
	pw, err := f.Store.GetUserPassword(t.Context(), u.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := password.Verify(" correct horse battery staple ", pw.Hash); !ok {
		t.Errorf("the stored hash does not verify the password as sent (spaces kept)")
	}

	readOnly := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadResource: true})
	tests := []struct {
		name       string
		in         mfa.Integration
		path       string
		params     url.Values
		wantStatus int
		wantCode   int
		wantDetail string
	}{
		{"missing", f.Key, path, url.Values{}, 400, 40002, "password"},
		{"too short", f.Key, path, url.Values{"password": {"short"}}, 400, 40002, "password"},
		{"own username", f.Key, path, url.Values{"password": {"JSMITH-and-more-words"}}, 400, 40002, "password"},
		{"own email local part", f.Key, path, url.Values{"password": {"xx john.smith xx yy"}}, 400, 40002, "password"},
		{"oversized", f.Key, path, url.Values{"password": {strings.Repeat("p", mfa.MaxPasswordLen+1)}}, 400, 40002, "password"},
		{"unknown user", f.Key, "/admin/v1/users/DUNOSUCHUSER00000000/password", url.Values{"password": {"correct horse battery"}}, 404, 40401, ""},
		{"no write permission", readOnly, path, url.Values{"password": {"correct horse battery"}}, 403, 40301, ""},
	}
	for _, tt := range tests {
		r := f.Call(tt.in, http.MethodPost, tt.path, tt.params)
		if r.Status != tt.wantStatus || r.Code != tt.wantCode || !strings.Contains(r.MessageDetail+r.Message, tt.wantDetail) {
			t.Errorf("%s: %d %d %q %q, want %d %d naming %q", tt.name, r.Status, r.Code, r.Message, r.MessageDetail,
				tt.wantStatus, tt.wantCode, tt.wantDetail)
		}
		if strings.Contains(r.MessageDetail, "correct horse") {
			t.Errorf("%s: the answer echoes the password: %q", tt.name, r.MessageDetail)
		}
	}
	if again, _ := f.Store.GetUserPassword(t.Context(), u.UserID); again.Hash != pw.Hash {
		t.Errorf("a refused request changed the stored password")
	}
	f.OK(f.Call(f.Key, http.MethodDelete, path, nil), nil)
	if r := f.Call(f.Key, http.MethodDelete, path, nil); r.Status != 404 {
		t.Errorf("DELETE password twice: %d, want 404", r.Status)
	}
}
