package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxLogoBytes bounds the logo file (Duo's own limit for a logo upload).
const MaxLogoBytes = 200 << 10

// pngMagic starts every PNG file.
var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// Logo reads and checks the logo file: nil, nil when none is configured.
// The file must exist, hold a PNG image (by its signature) and be at most
// [MaxLogoBytes]; an error says which is wrong. [Config.Validate] reports
// the same problems.
func (c Config) Logo() ([]byte, error) {
	if c.LogoFile == "" {
		return nil, nil
	}
	b, msg := readLogo(c.LogoFile)
	if msg != "" {
		return nil, fmt.Errorf("logo_file: %s (%s)", msg, newFields().mustKey("logo_file").where())
	}
	return b, nil
}

// readLogo returns the PNG at path, or what is wrong with it.
func readLogo(path string) ([]byte, string) {
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Sprintf("%q does not exist", path)
	case err != nil:
		return nil, fmt.Sprintf("cannot read %q: %v", path, unwrapPath(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Sprintf("%q is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxLogoBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Sprintf("cannot read %q: %v", path, unwrapPath(err))
	case len(b) > MaxLogoBytes:
		return nil, fmt.Sprintf("%q is larger than %d KiB", path, MaxLogoBytes>>10)
	case !bytes.HasPrefix(b, pngMagic):
		return nil, fmt.Sprintf("%q is not a PNG image", path)
	}
	return b, ""
}

// unwrapPath drops the *fs.PathError's repetition of the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
