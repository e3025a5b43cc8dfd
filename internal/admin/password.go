package admin

import (
	"github.com/twostep-auth/twostep/internal/password"
)

// PasswordHasher hashes passwords with argon2id (internal/password). The
// administrators' cost is password.Default (64 MiB, 2 passes, 2 lanes);
// users' twostep passwords use password.UserDefault.
type PasswordHasher = password.Hasher

// DefaultPasswordHasher is the administrators' production cost.
func DefaultPasswordHasher() PasswordHasher { return password.Default() }

// VerifyPassword reports whether password matches the PHC string encoded,
// using the parameters recorded in it.
func VerifyPassword(pw, encoded string) (bool, error) { return password.Verify(pw, encoded) }
