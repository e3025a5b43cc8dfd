package reqid

import "context"

// Key is the slog key every log line carries the request id under.
const Key = "request_id"

type ctxKey struct{}

// With returns ctx carrying request id id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the request id in ctx, or "" when there is none (a request
// served outside the server's chain, a background job).
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}
