// Command webapp is a demo web application whose login is protected by
// twostep through Duo's Universal Prompt (Duo's Go Web SDK v4, unchanged).
//
// Beside a running twostepd (go run ./cmd/twostepd serve):
//
//	go run ./examples/webapp
//
// then open http://localhost:8080. On its first start it reads twostepd's
// initial-credentials.json (-twostep-data, default ./twostep-data), creates a
// "websdk" integration for itself through the Admin API with Duo's Go client,
// and keeps that integration's keys in demo-webapp.json (mode 0600). Or give
// it an integration of your own with -client-id, -client-secret, -api-host
// and -ca-file (or the TWOSTEP_DEMO_* variables).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"

	"github.com/twostep-auth/twostep/examples/webapp/demoapp"
)

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

// keys are the demo's integration and where twostep is.
type keys struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	APIHost      string `json:"api_host"`
	CAFile       string `json:"ca_file"`
}

func run(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	listen := fs.String("listen", "localhost:8080", "address to serve the demo on (loopback: the demo is plain HTTP)")
	data := fs.String("twostep-data", "./twostep-data", "twostepd's data directory (for initial-credentials.json)")
	state := fs.String("keys-file", "demo-webapp.json", "where the demo keeps its integration's keys")
	var k keys
	fs.StringVar(&k.ClientID, "client-id", getenv("TWOSTEP_DEMO_CLIENT_ID"), "websdk integration key (default: create one)")
	fs.StringVar(&k.ClientSecret, "client-secret", getenv("TWOSTEP_DEMO_CLIENT_SECRET"), "its secret key")
	fs.StringVar(&k.APIHost, "api-host", getenv("TWOSTEP_DEMO_API_HOST"), "twostep's host:port")
	fs.StringVar(&k.CAFile, "ca-file", getenv("TWOSTEP_DEMO_CA_FILE"), "CA certificate that signed twostep's certificate (PEM)")
	failClosed := fs.Bool("fail-closed", true, "refuse logins while twostep is unreachable (false: password alone)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	host, port, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", *listen, err)
	}
	if host == "" {
		host = "localhost"
	}
	redirect := "http://" + net.JoinHostPort(host, port) + "/duo-callback"

	if k.ClientID == "" {
		if k, err = ensureIntegration(*data, *state, redirect); err != nil {
			return err
		}
	}
	client, err := trusting(k.CAFile)
	if err != nil {
		return err
	}
	app, err := demoapp.New(demoapp.Config{ClientID: k.ClientID, ClientSecret: k.ClientSecret, APIHost: k.APIHost,
		RedirectURI: redirect, HTTPClient: client, FailClosed: *failClosed, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); srv.Close() }()
	log.Info("demo web app listening", "url", "http://"+net.JoinHostPort(host, port), "twostep", k.APIHost)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// trusting returns an HTTP client that trusts caFile (twostep's generated
// CA), or nil (the SDK's default) when there is none.
func trusting(caFile string) (*http.Client, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate", caFile)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

// ensureIntegration returns the keys kept in stateFile, or creates a websdk
// integration with the Admin API key from twostepd's
// initial-credentials.json and keeps its keys there.
func ensureIntegration(dataDir, stateFile, redirect string) (keys, error) {
	var k keys
	if b, err := os.ReadFile(stateFile); err == nil {
		if err := json.Unmarshal(b, &k); err != nil {
			return k, fmt.Errorf("%s: %w", stateFile, err)
		}
		return k, nil
	}
	credsFile := filepath.Join(dataDir, "initial-credentials.json")
	b, err := os.ReadFile(credsFile)
	if err != nil {
		return k, fmt.Errorf("no integration given and %w; start twostepd first (go run ./cmd/twostepd serve) or pass -client-id", err)
	}
	var creds struct {
		APIHost  string `json:"api_host"`
		CAFile   string `json:"ca_file"`
		AdminAPI struct {
			IKey string `json:"ikey"`
			SKey string `json:"skey"`
		} `json:"admin_api"`
	}
	if err := json.Unmarshal(b, &creds); err != nil {
		return k, fmt.Errorf("%s: %w", credsFile, err)
	}
	client, err := trusting(creds.CAFile)
	if err != nil {
		return k, err
	}
	api := duoapi.NewDuoApi(creds.AdminAPI.IKey, creds.AdminAPI.SKey, creds.APIHost, "twostep-demo-webapp",
		duoapi.SetTransport(func(tr *http.Transport) { tr.TLSClientConfig = client.Transport.(*http.Transport).TLSClientConfig }))
	_, body, err := api.SignedCall(http.MethodPost, "/admin/v1/integrations", url.Values{
		"name": {"Demo web app"}, "type": {"websdk"}, "redirect_uris": {redirect},
	}, duoapi.UseTimeout)
	if err != nil {
		return k, fmt.Errorf("create the demo's integration: %w", err)
	}
	var res struct {
		Stat     string `json:"stat"`
		Message  string `json:"message"`
		Detail   string `json:"message_detail"`
		Response struct {
			IKey string `json:"integration_key"`
			SKey string `json:"secret_key"`
		} `json:"response"`
	}
	if err := json.Unmarshal(body, &res); err != nil || res.Stat != "OK" {
		return k, fmt.Errorf("create the demo's integration: %s %s (%v)", res.Message, res.Detail, err)
	}
	k = keys{ClientID: res.Response.IKey, ClientSecret: res.Response.SKey, APIHost: creds.APIHost, CAFile: creds.CAFile}
	out, _ := json.MarshalIndent(k, "", "  ")
	if err := os.WriteFile(stateFile, append(out, '\n'), 0o600); err != nil {
		return k, err
	}
	return k, nil
}
