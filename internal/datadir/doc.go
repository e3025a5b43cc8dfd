// Package datadir owns twostepd's data directory: creating it with private
// permissions, the lock that serialises first-start initialisation between
// processes sharing it, atomic file writes, and the generated master key.
//
// It imports only the standard library and internal/seal.
package datadir
