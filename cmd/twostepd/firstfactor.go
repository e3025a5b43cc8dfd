package main

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/config"
	"github.com/twostep-auth/twostep/internal/ldapdir"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// firstFactor builds the first-factor options from [first_factor] and
// [ldap] (docs/first-factor.md): which sources each surface accepts and
// the directory, when one is configured.
func firstFactor(cfg config.Config, log *slog.Logger) (authflow.FirstFactorOptions, error) {
	o := authflow.FirstFactorOptions{Sources: map[authflow.Surface][]string{
		authflow.SurfaceOIDC:    cfg.FirstFactor.OIDC,
		authflow.SurfacePortal:  cfg.FirstFactor.Portal,
		authflow.SurfaceConsole: cfg.FirstFactor.Console,
		authflow.SurfaceRADIUS:  cfg.FirstFactor.Radius,
	}}
	if len(cfg.LDAP.URLs) == 0 {
		return o, nil
	}
	l := cfg.LDAP
	c := ldapdir.Config{URLs: l.URLs, StartTLS: l.TLS == "starttls", Insecure: l.TLS == "none", ServerName: l.ServerName,
		BindDN: l.BindDN, BindPassword: l.BindPassword.Reveal(), UserDNTemplate: l.UserDNTemplate, BaseDN: l.BaseDN,
		UserFilter: l.UserFilter, UsernameAttr: l.UsernameAttribute, EmailAttr: l.EmailAttribute, NameAttr: l.NameAttribute,
		GroupsAttr: l.GroupsAttribute, Timeout: l.Timeout}
	if l.CAFile != "" {
		pem, err := os.ReadFile(l.CAFile)
		if err != nil {
			return o, fmt.Errorf("ldap.ca_file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("ldap.ca_file: %s holds no PEM certificate", l.CAFile)
		}
	}
	dir, err := ldapdir.New(c, log)
	if err != nil {
		return o, err
	}
	o.Directory = mfa.Directory(dir)
	return o, nil
}
