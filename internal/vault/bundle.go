package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

const (
	bundleFormat  = "twostep-export"
	bundleVersion = 1
)

type bundleJSON struct {
	Format   string    `json:"format"`
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	Accounts []Account `json:"accounts"`
}

// SealBundle encrypts accounts into an export bundle (an age file,
// scrypt passphrase) to be opened with OpenBundle on another device.
// workFactor is as in Options.
func SealBundle(accounts []Account, pass string, workFactor int, now time.Time) ([]byte, error) {
	if len(accounts) == 0 {
		return nil, fmt.Errorf("export: no accounts")
	}
	if pass == "" {
		return nil, fmt.Errorf("export: %w", ErrPassphraseRequired)
	}
	for i := range accounts {
		if err := accounts[i].Validate(); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	payload, err := json.MarshalIndent(bundleJSON{Format: bundleFormat, Version: bundleVersion, Created: now.UTC(), Accounts: accounts}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return seal(payload, pass, workFactor)
}

// ErrNotBundle: the file is not an export bundle.
var ErrNotBundle = errors.New("not a twostep export bundle")

// OpenBundle decrypts an export bundle. Errors wrap ErrWrongPassphrase,
// ErrCorrupt, ErrNotBundle or ErrNewerFormat.
func OpenBundle(raw []byte, pass string) ([]Account, error) {
	if !bytes.HasPrefix(raw, []byte(ageHeader)) {
		if len(bytes.TrimSpace(raw)) == 0 {
			return nil, fmt.Errorf("%w: the file is empty", ErrCorrupt)
		}
		return nil, ErrNotBundle
	}
	payload, err := decrypt(raw, pass)
	if errors.Is(err, ErrNotVault) {
		return nil, fmt.Errorf("%w: it is age-encrypted, but not with a passphrase", ErrNotBundle)
	}
	if err != nil {
		return nil, err
	}
	var b bundleJSON
	if err := json.Unmarshal(payload, &b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	switch {
	case b.Format != bundleFormat:
		return nil, fmt.Errorf("%w (format %q)", ErrNotBundle, b.Format)
	case b.Version > bundleVersion:
		return nil, fmt.Errorf("export format version %d: %w", b.Version, ErrNewerFormat)
	}
	d := &Data{Accounts: b.Accounts}
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return b.Accounts, nil
}
