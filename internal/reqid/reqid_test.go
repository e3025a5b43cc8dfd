package reqid_test

import (
	"context"
	"testing"

	"github.com/twostep-auth/twostep/internal/reqid"
)

func TestWithFrom(t *testing.T) {
	if got := reqid.From(context.Background()); got != "" {
		t.Errorf("From(no id) = %q, want empty", got)
	}
	ctx := reqid.With(context.Background(), "0123456789abcdef")
	if got := reqid.From(ctx); got != "0123456789abcdef" {
		t.Errorf("From(With(id)) = %q, want the id", got)
	}
	inner := reqid.With(ctx, "fedcba9876543210")
	if got := reqid.From(inner); got != "fedcba9876543210" {
		t.Errorf("From(inner) = %q, want the inner id", got)
	}
}
