package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/vault"
)

// caFile is --ca-file or TWOSTEP_CA_FILE.
func (a *app) caFile() string {
	if a.cli.CAFile != "" {
		return a.cli.CAFile
	}
	return a.getenv("TWOSTEP_CA_FILE")
}

// readCA reads a PEM file of CA certificates.
func readCA(path string) ([]byte, error) {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", path)
	}
	return pemBytes, nil
}

// client returns a device API client for host trusting caPEM (and the
// --ca-file CA, if given); with neither, the system roots.
func (a *app) client(host string, caPEM string) (*deviceclient.Client, error) {
	var pool *x509.CertPool
	add := func(pemBytes []byte) {
		if pool == nil {
			pool = x509.NewCertPool()
		}
		pool.AppendCertsFromPEM(pemBytes)
	}
	if caPEM != "" {
		add([]byte(caPEM))
	}
	if f := a.caFile(); f != "" {
		extra, err := readCA(f)
		if err != nil {
			return nil, err
		}
		add(extra)
	}
	return deviceclient.New(deviceclient.Config{
		Host: host, RootCAs: pool, Transport: a.transport, Now: a.now,
		UserAgent: "twostep/" + version + " (" + runtime.GOOS + "/" + runtime.GOARCH + ")",
	})
}

// device returns the signed device API client of a twostep install.
func (a *app) device(acct *vault.Account) (*deviceclient.Device, error) {
	key, err := deviceclient.ParseKey(string(acct.PrivateKey))
	if err != nil {
		return nil, fmt.Errorf("account %q: %w", acct.Name, err)
	}
	c, err := a.client(acct.APIHost, acct.CAPEM)
	if err != nil {
		return nil, err
	}
	return c.Device(acct.PKey, acct.AKey, key), nil
}

// revokedError says that an install must be reactivated; it wraps the
// server's error.
func revokedError(acct *vault.Account, err error) error {
	return statusError{exitRevoked, &messageError{revokedMessage(acct, err), err}}
}

// messageError replaces an error's message, keeping it for errors.Is/As.
type messageError struct {
	msg string
	err error
}

func (e *messageError) Error() string { return e.msg }
func (e *messageError) Unwrap() error { return e.err }

func revokedMessage(acct *vault.Account, err error) string {
	detail := ""
	var e *deviceclient.Error
	if errors.As(err, &e) && e.Detail != "" {
		detail = " (server: " + e.Detail + ")"
	}
	return fmt.Sprintf("account %q: this device is no longer activated on %s: a newer activation replaced it or an administrator removed it%s. "+
		"Get a new activation code and reactivate with: twostep activate CODE", acct.Name, acct.APIHost, detail)
}

// serverError describes a failed call to an account's server.
func serverError(acct *vault.Account, err error) error {
	if deviceclient.IsRevoked(err) {
		return revokedError(acct, err)
	}
	return fmt.Errorf("account %q: %w", acct.Name, err)
}

// explain adds what to do about well-known failures to an error's message.
func explain(err error) string {
	msg := err.Error()
	var de *deviceclient.Error
	switch {
	case errors.Is(err, vault.ErrWrongPassphrase):
		return msg + " (nothing was changed)"
	case errors.Is(err, vault.ErrCorrupt) && strings.HasPrefix(msg, "export bundle"):
		return msg
	case errors.Is(err, vault.ErrCorrupt), errors.Is(err, vault.ErrNotVault):
		return msg + "; the file was left untouched: restore it from a backup, or move it away and set up again"
	case errors.Is(err, vault.ErrNewerFormat):
		return msg + ": upgrade twostep"
	case errors.Is(err, vault.ErrNoVault):
		return msg + ": add an account first with `twostep activate CODE` or `twostep add otpauth://...`"
	case errors.Is(err, vault.ErrPassphraseRequired):
		return msg + ": type it at a terminal, set TWOSTEP_PASSPHRASE or TWOSTEP_PASSPHRASE_FILE, or use --passphrase-file " +
			"(a new vault can instead be created unencrypted with --no-passphrase)"
	case deviceclient.IsCertificateError(err):
		return msg + " (if the server uses its own certificate authority, pass its CA certificate with --ca-file PEM or TWOSTEP_CA_FILE)"
	case errors.As(err, &de) && de.Code == deviceclient.CodeBadDate:
		return msg + " (this computer's clock is more than 5 minutes off the server's: set the clock right)"
	case errors.As(err, &de) && de.Code == deviceclient.CodeUnknownPKey:
		return msg + " (the server does not know this install: reactivate with `twostep activate CODE`)"
	}
	return msg
}
