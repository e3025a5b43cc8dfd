package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/config"
	"github.com/twostep-auth/twostep/internal/datadir"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/outbox"
	"github.com/twostep-auth/twostep/internal/notify/smtp"
	"github.com/twostep-auth/twostep/internal/notify/twilio"
	"github.com/twostep-auth/twostep/internal/notify/webhook"
	"github.com/twostep-auth/twostep/internal/server"
)

// byChannel sends SMS and calls through one carrier and email through
// another.
type byChannel struct {
	phone, email mfa.Notifier
}

var _ mfa.Deliverer = byChannel{}

func (b byChannel) Send(ctx context.Context, m mfa.Message) error {
	_, err := b.Deliver(ctx, m)
	return err
}

// Deliver passes the carrier's receipt through (mfa.Deliver).
func (b byChannel) Deliver(ctx context.Context, m mfa.Message) (mfa.Receipt, error) {
	if m.Channel == mfa.ChannelEmail {
		return mfa.Deliver(ctx, b.email, m)
	}
	return mfa.Deliver(ctx, b.phone, m)
}

// carriers builds the notifier the configuration asks for, and what the
// server needs to check the carrier's callbacks. Email goes through SMTP
// when smtp.host is set, else to the outbox.
func carriers(cfg config.Config, dir *datadir.Dir, apiHost string, log *slog.Logger) (mfa.Notifier, server.Callbacks, error) {
	ob, err := outbox.New(dir.File("outbox"), time.Now)
	if err != nil {
		return nil, server.Callbacks{}, err
	}
	email, err := emailCarrier(cfg, ob, apiHost, log)
	if err != nil {
		return nil, server.Callbacks{}, err
	}
	retries := cfg.Delivery.Retries
	if retries == 0 {
		retries = -1 // the clients' "none"
	}
	public := cfg.CallbackURL()
	if cfg.Delivery.PublicURL == "" {
		public = "https://" + apiHost // the port actually bound
	}
	client := &http.Client{}
	switch cfg.Delivery.Carrier {
	case config.CarrierTwilio:
		t := cfg.Twilio
		c, err := twilio.New(twilio.Config{BaseURL: t.BaseURL, AccountSID: t.AccountSID, AuthToken: t.AuthToken.Reveal(),
			APIKeySID: t.APIKeySID, APIKeySecret: t.APIKeySecret.Reveal(), From: t.From, MessagingServiceSID: t.MessagingServiceSID,
			CallbackURL: public, Timeout: cfg.Delivery.Timeout, Retries: retries,
			ExtensionPreDelay: t.ExtensionPreDelay, ExtensionPostDelay: t.ExtensionPostDelay,
			HTTPClient: client, Logger: log})
		if err != nil {
			return nil, server.Callbacks{}, fmt.Errorf("delivery: %w", err)
		}
		log.Info("SMS and calls go through Twilio", "base_url", t.BaseURL,
			"callbacks", public+twilio.GatherPath)
		return byChannel{phone: c, email: email}, server.Callbacks{PublicURL: public, TwilioAuthToken: t.AuthToken.Reveal()}, nil
	case config.CarrierWebhook:
		c, err := webhook.New(webhook.Config{URL: cfg.Webhook.URL, Secret: cfg.Webhook.Secret.Reveal(), CallbackURL: public,
			Timeout: cfg.Delivery.Timeout, Retries: retries, HTTPClient: client, Logger: log})
		if err != nil {
			return nil, server.Callbacks{}, fmt.Errorf("delivery: %w", err)
		}
		log.Info("SMS and calls go to the webhook", "url", cfg.Webhook.URL,
			"keypress_url", public+webhook.KeypressPath)
		return byChannel{phone: c, email: email}, server.Callbacks{PublicURL: public, WebhookSecret: cfg.Webhook.Secret.Reveal()}, nil
	}
	log.Warn("no SMS or voice carrier is configured: texts and calls are written to the outbox directory (development only)",
		"dir", dir.File("outbox"))
	return byChannel{phone: ob, email: email}, server.Callbacks{}, nil
}

// emailCarrier is the SMTP client smtp.* configures, or the outbox when
// smtp.host is empty.
func emailCarrier(cfg config.Config, ob mfa.Notifier, apiHost string, log *slog.Logger) (mfa.Notifier, error) {
	m := cfg.SMTP
	if m.Host == "" {
		log.Warn("no SMTP server is configured: emails are written to the outbox directory (development only)")
		return ob, nil
	}
	var roots *x509.CertPool
	if m.CAFile != "" {
		pem, err := os.ReadFile(m.CAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp.ca_file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("smtp.ca_file: no PEM certificate in %s", m.CAFile)
		}
	}
	org := cfg.Organization
	if org == "" {
		org = apiHost
	}
	retries := cfg.Delivery.Retries
	if retries == 0 {
		retries = -1 // the client's "none"
	}
	c, err := smtp.New(smtp.Config{Host: m.Host, Port: m.Port, TLS: m.TLS, Username: m.Username, Password: m.Password.Reveal(),
		From: m.From, Organization: org, RootCAs: roots, Timeout: cfg.Delivery.Timeout, Retries: retries, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	log.Info("email goes through SMTP", "host", m.Host, "port", m.Port, "tls", m.TLS, "from", m.From)
	return c, nil
}

// deliveryTestCmd sends one SMS (or, to an email address, one email)
// through the configured carrier, so an operator can check the settings
// without a login.
type deliveryTestCmd struct {
	To   string `arg:"" name:"to" help:"Phone number in E.164 form (+15555550100), or an email address to test SMTP."`
	Text string `default:"twostep test message: delivery works." help:"The text to send."`
}

func (c deliveryTestCmd) run(e *env) error {
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	log := e.logger(cfg)
	dir, err := datadir.Open(cfg.DataDir)
	if err != nil {
		return err
	}
	n, _, err := carriers(cfg, dir, cfg.APIHost(), log)
	if err != nil {
		return err
	}
	if strings.Contains(c.To, "@") {
		via := "smtp " + cfg.SMTP.Host
		if cfg.SMTP.Host == "" {
			via = "the outbox"
		}
		m := mfa.Message{Channel: mfa.ChannelEmail, To: c.To, Subject: "twostep test message", Body: mfa.Passcode(c.Text),
			Context: "administrator"}
		if err := n.Send(e.ctx, m); err != nil {
			return fmt.Errorf("%s: %w", via, err)
		}
		fmt.Fprintf(e.stdout, "sent a test email to %s through %s\n", c.To, via)
		return nil
	}
	m := mfa.Message{Channel: mfa.ChannelSMS, To: c.To, Body: mfa.Passcode(c.Text), Context: "administrator"}
	if err := n.Send(e.ctx, m); err != nil {
		return fmt.Errorf("carrier %s: %w", cfg.Delivery.Carrier, err)
	}
	fmt.Fprintf(e.stdout, "sent a test SMS to %s through %s\n", c.To, cfg.Delivery.Carrier)
	return nil
}
