package sqlstore_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/seal"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// TestReseal seals everything under key A, re-seals under B with a keyring
// that still knows A, and then reads everything back with B alone; bypass
// codes made under A still verify (the code-hash key survives a rekey).
func TestReseal(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			ctx := t.Context()
			dsn := d.dsn(t)
			keyA, keyB := sqltest.Key(t, "a"), sqltest.Key(t, "b")
			keyring := func(current seal.Key, old ...seal.Key) *seal.Keyring {
				kr, err := seal.NewKeyring(current, old...)
				if err != nil {
					t.Fatal(err)
				}
				return kr
			}

			a := sqltest.Open(t, dsn, sqlstore.Options{Sealer: keyring(keyA)})
			if _, err := a.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			// 1 skey, 2+2 authenticator (ActivateAuthenticator, CompleteActivation),
			// 1+1+2 token secrets, +1 code key
			secrets := atRestSecrets(t, a)
			const sealedValues = 10
			wantIntegration, err := a.GetIntegration(ctx, "DIATREST000000000001")
			must(t, "GetIntegration", err)
			wantAuthenticator, err := a.GetAuthenticator(ctx, "DAATREST000000000001")
			must(t, "GetAuthenticator", err)
			wantDevice, err := a.GetAuthenticator(ctx, "DAATREST000000000002")
			must(t, "GetAuthenticator(completed activation)", err)
			wantTokens, _, err := a.ListTokens(ctx, mfa.TokenFilter{})
			must(t, "ListTokens", err)
			if n, err := a.Reseal(ctx); n != 0 || err != nil {
				t.Errorf("Reseal() under the current key = %d, %v, want 0, nil", n, err)
			}
			a.Close()

			// Only B: the A-sealed values cannot be read.
			onlyB := sqltest.Open(t, dsn, sqlstore.Options{Sealer: keyring(keyB)})
			if _, err := onlyB.GetIntegration(ctx, "DIATREST000000000001"); err == nil {
				t.Fatal("GetIntegration() with only key B before Reseal = nil error, want an error")
			}
			onlyB.Close()

			rekey := sqltest.Open(t, dsn, sqlstore.Options{Sealer: keyring(keyB, keyA)})
			if n, err := rekey.Reseal(ctx); n != sealedValues || err != nil {
				t.Errorf("Reseal() = %d, %v, want %d, nil", n, err, sealedValues)
			}
			if n, err := rekey.Reseal(ctx); n != 0 || err != nil {
				t.Errorf("Reseal() again = %d, %v, want 0, nil", n, err)
			}
			rekey.Close()

			b := sqltest.Open(t, dsn, sqlstore.Options{Sealer: keyring(keyB)})
			must(t, "CheckSchema", b.CheckSchema(ctx))
			gotIntegration, err := b.GetIntegration(ctx, "DIATREST000000000001")
			must(t, "GetIntegration after Reseal", err)
			if diff := cmp.Diff(wantIntegration, gotIntegration); diff != "" {
				t.Errorf("GetIntegration() after Reseal mismatch (-want +got):\n%s", diff)
			}
			gotAuthenticator, err := b.GetAuthenticator(ctx, "DAATREST000000000001")
			must(t, "GetAuthenticator after Reseal", err)
			if diff := cmp.Diff(wantAuthenticator, gotAuthenticator); diff != "" {
				t.Errorf("GetAuthenticator() after Reseal mismatch (-want +got):\n%s", diff)
			}
			gotDevice, err := b.GetAuthenticator(ctx, "DAATREST000000000002")
			must(t, "GetAuthenticator(completed activation) after Reseal", err)
			if diff := cmp.Diff(wantDevice, gotDevice); diff != "" {
				t.Errorf("GetAuthenticator(completed activation) after Reseal mismatch (-want +got):\n%s", diff)
			}
			gotTokens, _, err := b.ListTokens(ctx, mfa.TokenFilter{})
			must(t, "ListTokens after Reseal", err)
			if diff := cmp.Diff(wantTokens, gotTokens); diff != "" {
				t.Errorf("ListTokens() after Reseal mismatch (-want +got):\n%s", diff)
			}
			if string(gotIntegration.SKey) != string(secrets["integration skey"]) {
				t.Error("GetIntegration().SKey after Reseal is not the original skey")
			}

			// Codes hashed before the rekey still verify, and spend.
			tests := []struct {
				give     mfa.Guard
				wantLeft int
			}{
				{mfa.Guard{Kind: mfa.GuardBypassCode, Code: "480213597", Now: epoch}, 1},
				{mfa.Guard{Kind: mfa.GuardBypassCode, Code: "480213597", Now: epoch}, 0},
				{mfa.Guard{Kind: mfa.GuardSMSCode, Code: "90417263", Now: epoch}, 0},
			}
			for _, tt := range tests {
				out, err := b.ApplyAuth(ctx, mfa.AuthWrite{UserID: "DUATREST000000000001", Guard: tt.give})
				if err != nil || out.BypassUsesLeft != tt.wantLeft {
					t.Errorf("ApplyAuth(guard %d) after Reseal = %+v, %v, want uses left %d, nil", tt.give.Kind, out, err, tt.wantLeft)
				}
			}
			// So do remembered-device tokens.
			if _, err := b.CheckTrustedDevice(ctx, mfa.Passcode(secrets["trusted device token"]), "DUATREST000000000001",
				"DIATREST000000000001", epoch); err != nil {
				t.Errorf("CheckTrustedDevice() after Reseal = %v, want nil", err)
			}
		})
	}
}
