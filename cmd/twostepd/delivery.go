package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/config"
	"github.com/twostep-auth/twostep/internal/datadir"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/outbox"
	"github.com/twostep-auth/twostep/internal/notify/twilio"
	"github.com/twostep-auth/twostep/internal/notify/webhook"
	"github.com/twostep-auth/twostep/internal/server"
)

// byChannel sends SMS and calls through one carrier and email through
// another.
type byChannel struct {
	phone, email mfa.Notifier
}

func (b byChannel) Send(ctx context.Context, m mfa.Message) error {
	if m.Channel == mfa.ChannelEmail {
		return b.email.Send(ctx, m)
	}
	return b.phone.Send(ctx, m)
}

// carriers builds the notifier the configuration asks for, and what the
// server needs to check the carrier's callbacks. Email goes to the outbox
// (no email carrier yet).
func carriers(cfg config.Config, dir *datadir.Dir, apiHost string, log *slog.Logger) (mfa.Notifier, server.Callbacks, error) {
	ob, err := outbox.New(dir.File("outbox"), time.Now)
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
		log.Info("SMS and calls go through Twilio; email to the outbox directory", "base_url", t.BaseURL,
			"callbacks", public+twilio.GatherPath)
		return byChannel{phone: c, email: ob}, server.Callbacks{PublicURL: public, TwilioAuthToken: t.AuthToken.Reveal()}, nil
	case config.CarrierWebhook:
		c, err := webhook.New(webhook.Config{URL: cfg.Webhook.URL, Secret: cfg.Webhook.Secret.Reveal(), CallbackURL: public,
			Timeout: cfg.Delivery.Timeout, Retries: retries, HTTPClient: client, Logger: log})
		if err != nil {
			return nil, server.Callbacks{}, fmt.Errorf("delivery: %w", err)
		}
		log.Info("SMS and calls go to the webhook; email to the outbox directory", "url", cfg.Webhook.URL,
			"keypress_url", public+webhook.KeypressPath)
		return byChannel{phone: c, email: ob}, server.Callbacks{PublicURL: public, WebhookSecret: cfg.Webhook.Secret.Reveal()}, nil
	}
	log.Warn("no SMS, voice or email carrier is configured: messages are written to the outbox directory (development only)",
		"dir", dir.File("outbox"))
	return ob, server.Callbacks{}, nil
}

// deliveryTestCmd sends one SMS through the configured carrier, so an
// operator can check the settings without a login.
type deliveryTestCmd struct {
	To   string `arg:"" name:"to" help:"Phone number in E.164 form (+15555550100)."`
	Text string `default:"twostep test message: SMS delivery works." help:"The text to send."`
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
	m := mfa.Message{Channel: mfa.ChannelSMS, To: c.To, Body: mfa.Passcode(c.Text), Context: "administrator"}
	if err := n.Send(e.ctx, m); err != nil {
		return fmt.Errorf("carrier %s: %w", cfg.Delivery.Carrier, err)
	}
	fmt.Fprintf(e.stdout, "sent a test SMS to %s through %s\n", c.To, cfg.Delivery.Carrier)
	return nil
}
