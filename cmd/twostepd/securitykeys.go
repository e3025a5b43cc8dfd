package main

import (
	"log/slog"
	"net"
	"strings"

	"github.com/twostep-auth/twostep/internal/fido"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// securityKeys makes the WebAuthn protocol for the configured public
// hostnames (docs/security-keys.md): the relying-party id is the first
// hostname, and every hostname in its domain, at the port the server
// listens on, is an origin pages may use. Hostnames outside that domain
// are left out (a key registered for one domain cannot sign for another);
// an IP address as first hostname turns security keys off. Both are
// logged; neither stops the server.
func securityKeys(hosts []string, addr net.Addr, log *slog.Logger) mfa.WebAuthnVerifier {
	if len(hosts) == 0 {
		log.Warn("security keys are off: no public_hostnames")
		return nil
	}
	rp := strings.ToLower(strings.TrimSuffix(hosts[0], "."))
	if net.ParseIP(strings.Trim(rp, "[]")) != nil {
		log.Warn("security keys are off: the first public hostname is an IP address; WebAuthn needs a DNS name", "hostname", hosts[0])
		return nil
	}
	_, port, _ := net.SplitHostPort(addr.String())
	var inDomain []string
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if h == rp || strings.HasSuffix(h, "."+rp) {
			inDomain = append(inDomain, h)
		} else {
			log.Warn("security keys will not work at this public hostname: it is outside the relying-party id's domain",
				"hostname", h, "rp_id", rp)
		}
	}
	v, err := fido.New(fido.Config{RPID: rp, RPName: "twostep", Origins: fido.Origins(inDomain, port)})
	if err != nil {
		log.Warn("security keys are off", "err", err)
		return nil
	}
	log.Info("security keys on", "rp_id", rp, "origins", fido.Origins(inDomain, port))
	return v
}
