//go:build !unix && !windows

package vault

import "errors"

// lockFile is not available here: refuse to write rather than risk lost
// updates.
func lockFile(string) (func(), error) {
	return nil, errors.New("file locking is not supported on this platform")
}
