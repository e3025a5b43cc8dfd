package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/deviceclient"
)

// TestActivationCarriesConfiguredLogo: with logo_file set, an app that
// activates through the real server receives that file, base64, as
// customer_logo. Before, the device API was never given the logo and
// customer_logo was always empty.
func TestActivationCarriesConfiguredLogo(t *testing.T) {
	logo := append([]byte("\x89PNG\r\n\x1a\n"), []byte("twostep test logo")...)
	path := filepath.Join(t.TempDir(), "logo.png")
	if err := os.WriteFile(path, logo, 0o644); err != nil {
		t.Fatal(err)
	}
	in := startServe(t, func(k string) string {
		if k == "TWOSTEP_LOGO_FILE" {
			return path
		}
		return ""
	})
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)
	auth := duoClient(creds.APIHost, creds.AuthAPI.IKey, creds.AuthAPI.SKey, pool)
	enr, err := auth.Enroll(authapi.EnrollUsername("logo"))
	if err != nil || enr.Stat != "OK" {
		t.Fatalf("Enroll = %+v, %v", enr, err)
	}
	code, err := deviceclient.ParseActivation(enr.Response.Activation_Code)
	if err != nil {
		t.Fatal(err)
	}
	key, err := deviceclient.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := deviceclient.New(deviceclient.Config{Host: code.Host, RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	act, err := c.Activate(t.Context(), code, key, deviceclient.DeviceInfo{Platform: "twostep-cli", Model: "e2e"})
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	if want := base64.StdEncoding.EncodeToString(logo); act.CustomerLogo != want {
		t.Errorf("customer_logo = %q, want the configured file %q", act.CustomerLogo, want)
	}
}
