package mfatest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func integrationTests() []storeTest {
	return []storeTest{
		{"Create", testIntegrationCreate},
		{"CreateConflict", testIntegrationCreateConflict},
		{"List", testIntegrationList},
		{"Update", testIntegrationUpdate},
		{"Delete", testIntegrationDelete},
		{"NotFound", testIntegrationNotFound},
	}
}

func testIntegrationCreate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		give mfa.Integration
	}{
		{"auth api", mfa.Integration{
			IKey:              NewID(t, mfa.PrefixIntegration),
			SKey:              mfa.Secret("abcdefghijklmnopqrstuvwxyz0123456789ABCD"),
			Name:              "Web login",
			Type:              mfa.IntegrationAuthAPI,
			EnrollPolicy:      mfa.EnrollPolicyAllow,
			RefuseBypassCodes: true,
			TrustedDeviceDays: 30,
			Greeting:          "Welcome to ACME",
			Notes:             "owned by the web team",
			Created:           at(0),
		}},
		{"admin api", mfa.Integration{
			IKey:         NewID(t, mfa.PrefixIntegration),
			SKey:         NewSecret(t, 40),
			Name:         "Provisioning",
			Type:         mfa.IntegrationAdminAPI,
			Permissions:  mfa.AdminPermissions{Info: true, ReadLog: true, WriteResource: true},
			EnrollPolicy: mfa.EnrollPolicyDeny,
			Created:      at(time.Hour).UTC(),
		}},
		{"admin api all permissions", mfa.Integration{
			IKey:         NewID(t, mfa.PrefixIntegration),
			SKey:         NewSecret(t, 40),
			Name:         "Everything",
			Type:         mfa.IntegrationAdminAPI,
			Permissions:  mfa.AllAdminPermissions(),
			EnrollPolicy: mfa.EnrollPolicyEnroll,
			Created:      at(2 * time.Hour),
		}},
		{"unix", mfa.Integration{
			IKey:              NewID(t, mfa.PrefixIntegration),
			SKey:              NewSecret(t, 40),
			Name:              "SSH",
			Type:              mfa.IntegrationUnix,
			EnrollPolicy:      mfa.EnrollPolicyEnroll,
			AllowV1Signatures: true,
			Created:           at(-time.Hour),
		}},
		{"websdk", mfa.Integration{
			IKey:          NewID(t, mfa.PrefixIntegration),
			SKey:          NewSecret(t, 40),
			Name:          "Intranet",
			Type:          mfa.IntegrationWebSDK,
			EnrollPolicy:  mfa.EnrollPolicyEnroll,
			RedirectURIs:  []string{"https://app.example.com/duo-callback", "http://127.0.0.1:8080/cb?x=1"},
			GroupsAllowed: []string{"DG000000000000000001"},
			Created:       at(3 * time.Hour),
		}},
		{"oidc", mfa.Integration{
			IKey:                   NewID(t, mfa.PrefixIntegration),
			SKey:                   NewSecret(t, 40),
			Name:                   "Grafana",
			Type:                   mfa.IntegrationOIDC,
			EnrollPolicy:           mfa.EnrollPolicyDeny,
			RedirectURIs:           []string{"https://grafana.example.com/login/generic_oauth"},
			PublicClient:           true,
			PostLogoutRedirectURIs: []string{"https://grafana.example.com/", "http://localhost:3000/"},
			Created:                at(4 * time.Hour),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, "CreateIntegration()", s.CreateIntegration(ctx, tt.give))
			got, err := s.GetIntegration(ctx, tt.give.IKey)
			check(t, "GetIntegration()", err)
			if diff := cmp.Diff(tt.give, got, cmpOpts); diff != "" {
				t.Errorf("GetIntegration(%s) mismatch (-want +got):\n%s", tt.give.IKey, diff)
			}
			if string(got.SKey.Reveal()) != string(tt.give.SKey.Reveal()) {
				t.Errorf("GetIntegration(%s).SKey differs from the stored one", tt.give.IKey)
			}
		})
	}
}

func testIntegrationCreateConflict(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	first := NewIntegration(t, s, mfa.IntegrationAuthAPI)
	dup := mfa.Integration{IKey: first.IKey, SKey: NewSecret(t, 40), Name: "other", Type: mfa.IntegrationAdminAPI, EnrollPolicy: mfa.EnrollPolicyDeny, Created: at(time.Hour)}
	wantKind(t, fmt.Sprintf("CreateIntegration(%s) again", first.IKey), s.CreateIntegration(ctx, dup), mfa.Conflict)
	got, err := s.GetIntegration(ctx, first.IKey)
	check(t, "GetIntegration()", err)
	if diff := cmp.Diff(first, got, cmpOpts); diff != "" {
		t.Errorf("GetIntegration(%s) after a refused create mismatch (-want +got):\n%s", first.IKey, diff)
	}
}

func testIntegrationList(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	var all []mfa.Integration
	for i := 5; i >= 0; i-- {
		all = append(all, NewIntegration(t, s, mfa.IntegrationAuthAPI, func(in *mfa.Integration) { in.Created = at(time.Duration(i/2) * time.Second) }))
	}
	sortCreated(all, func(in mfa.Integration) time.Time { return in.Created }, func(in mfa.Integration) string { return in.IKey })
	for _, tt := range pageTests(len(all)) {
		got, total, err := s.ListIntegrations(ctx, tt.give)
		call := fmt.Sprintf("ListIntegrations(%+v)", tt.give)
		check(t, call, err)
		if diff := cmp.Diff(all[tt.from:tt.to], got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
		if total != len(all) {
			t.Errorf("%s total = %d, want %d", call, total, len(all))
		}
	}
}

func testIntegrationUpdate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	in := NewIntegration(t, s, mfa.IntegrationAuthAPI)
	other := NewIntegration(t, s, mfa.IntegrationAuthAPI)
	want := in
	want.SKey = NewSecret(t, 40) // rotation
	want.Name = "renamed"
	want.Type = mfa.IntegrationAdminAPI
	want.Permissions = mfa.AdminPermissions{Admins: true, Settings: true}
	want.EnrollPolicy = mfa.EnrollPolicyDeny
	want.AllowV1Signatures = true
	want.RefuseBypassCodes = true
	want.TrustedDeviceDays = 7
	want.Greeting = "hello"
	want.Notes = "notes"
	want.RedirectURIs = []string{"https://a.example/cb", "https://b.example/cb"}
	want.GroupsAllowed = []string{"DG000000000000000001", "DG000000000000000002"}
	give := want
	give.Created = at(24 * time.Hour)
	check(t, "UpdateIntegration()", s.UpdateIntegration(ctx, give))
	got, err := s.GetIntegration(ctx, in.IKey)
	check(t, "GetIntegration()", err)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetIntegration(%s) after UpdateIntegration mismatch (-want +got):\n%s", in.IKey, diff)
	}

	// And back to zero values.
	give = in
	give.Greeting, give.Notes, give.TrustedDeviceDays = "", "", 0
	check(t, "UpdateIntegration(zeros)", s.UpdateIntegration(ctx, give))
	got, err = s.GetIntegration(ctx, in.IKey)
	check(t, "GetIntegration()", err)
	if diff := cmp.Diff(give, got, cmpOpts); diff != "" {
		t.Errorf("GetIntegration(%s) after UpdateIntegration(zeros) mismatch (-want +got):\n%s", in.IKey, diff)
	}
	gotOther, err := s.GetIntegration(ctx, other.IKey)
	check(t, "GetIntegration(other)", err)
	if diff := cmp.Diff(other, gotOther, cmpOpts); diff != "" {
		t.Errorf("GetIntegration(other) after UpdateIntegration mismatch (-want +got):\n%s", diff)
	}
}

func testIntegrationDelete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	in := NewIntegration(t, s, mfa.IntegrationAuthAPI)
	keep := NewIntegration(t, s, mfa.IntegrationUnix)
	check(t, "DeleteIntegration()", s.DeleteIntegration(ctx, in.IKey))
	if _, err := s.GetIntegration(ctx, in.IKey); !isKind(err, mfa.NotFound) {
		t.Errorf("GetIntegration(%s) after DeleteIntegration = %v, want not found", in.IKey, err)
	}
	got, total, err := s.ListIntegrations(ctx, mfa.Page{})
	check(t, "ListIntegrations()", err)
	if diff := cmp.Diff([]mfa.Integration{keep}, got, cmpOpts); diff != "" || total != 1 {
		t.Errorf("ListIntegrations() after DeleteIntegration = total %d, mismatch (-want +got):\n%s", total, diff)
	}
	wantKind(t, "DeleteIntegration() again", s.DeleteIntegration(ctx, in.IKey), mfa.NotFound)
	// The ikey may be used again.
	NewIntegration(t, s, mfa.IntegrationAuthAPI, func(x *mfa.Integration) { x.IKey = in.IKey })
}

func testIntegrationNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	NewIntegration(t, s, mfa.IntegrationAuthAPI)
	missing := mfa.Integration{IKey: NewID(t, mfa.PrefixIntegration), SKey: NewSecret(t, 40), Type: mfa.IntegrationAuthAPI, EnrollPolicy: mfa.EnrollPolicyEnroll, Created: at(0)}
	if _, err := s.GetIntegration(ctx, missing.IKey); !isKind(err, mfa.NotFound) {
		t.Errorf("GetIntegration(%s) = %v, want not found", missing.IKey, err)
	}
	wantKind(t, "UpdateIntegration(missing)", s.UpdateIntegration(ctx, missing), mfa.NotFound)
	wantKind(t, "DeleteIntegration(missing)", s.DeleteIntegration(ctx, missing.IKey), mfa.NotFound)
	if _, err := s.GetIntegration(ctx, missing.IKey); !isKind(err, mfa.NotFound) {
		t.Errorf("GetIntegration(%s) after UpdateIntegration of a missing one = %v, want not found", missing.IKey, err)
	}
}
