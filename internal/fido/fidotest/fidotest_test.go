package fidotest_test

import (
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/twostep-auth/twostep/internal/fido/fidotest"
)

// TestNewCredentialKeysParse: every key NewCredential draws is one
// go-webauthn accepts. With virtualwebauthn.NewCredential about 1 in 128
// keys is refused, so 2,000 draws fail with near certainty.
func TestNewCredentialKeysParse(t *testing.T) {
	for i := range 2000 {
		c := fidotest.NewCredential()
		if _, err := webauthncose.ParsePublicKey(c.Key.AttestationData()); err != nil {
			t.Fatalf("draw %d: ParsePublicKey = %v", i, err)
		}
	}
}
