package duoproto

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

// The hand-built fallback body must equal what the encoder makes for
// Internal().
func TestInternalBSONMatchesEncoder(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteErrorBSON(rec, Internal())
	if got := internalBSON(); !bytes.Equal(got, rec.Body.Bytes()) {
		t.Errorf("internalBSON() = %q, want %q", got, rec.Body.Bytes())
	}
}
