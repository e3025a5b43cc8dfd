package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/twostep-auth/twostep/internal/seal"
)

// Validate reports every problem with c at once (joined with errors.Join),
// one error per problem, each naming the key and its environment variable,
// such as `listen: "abc" is not host:port (TWOSTEP_LISTEN)`. Messages never
// contain a secret.
func (c Config) Validate() error {
	fs := newFields()
	var errs []error
	bad := func(key, format string, args ...any) {
		f := fs.mustKey(key)
		errs = append(errs, fmt.Errorf("%s: %s (%s)", key, fmt.Sprintf(format, args...), f.where()))
	}

	if c.DataDir == "" {
		bad("data", "must not be empty")
	}
	if _, msg := listenPort(c.Listen); msg != "" {
		bad("listen", "%q %s", c.Listen, msg)
	}
	if msg := checkDatabase(c.Database.Reveal()); msg != "" {
		bad("database", "%s", msg)
	}
	if len(c.PublicHostnames) == 0 {
		bad("public_hostnames", "must list at least one hostname")
	}
	for _, h := range c.PublicHostnames {
		if !validHost(h) {
			bad("public_hostnames", "%q is not a DNS name or IP address", h)
		}
	}
	switch {
	case c.TLS.Cert == "" && c.TLS.Key != "":
		bad("tls.cert", "must be set when tls.key is")
	case c.TLS.Cert != "" && c.TLS.Key == "":
		bad("tls.key", "must be set when tls.cert is")
	}
	if c.MasterKey != "" {
		if _, err := seal.ParseKeys(c.MasterKey.Reveal()); err != nil {
			bad("master_key", "%s", strings.TrimPrefix(err.Error(), "master key: "))
		}
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "text", "json") {
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	durations := []struct {
		key      string
		d        time.Duration
		min, max time.Duration
	}{
		{"clock_skew", c.ClockSkew, 30 * time.Second, time.Hour},
		{"shutdown_timeout", c.ShutdownTimeout, time.Second, 5 * time.Minute},
		{"db.busy_timeout", c.DB.BusyTimeout, time.Millisecond, time.Minute},
		{"web.session_idle_timeout", c.Web.SessionIdleTimeout, time.Minute, 24 * time.Hour},
		{"web.session_lifetime", c.Web.SessionLifetime, 5 * time.Minute, 30 * 24 * time.Hour},
		{"console.idle_timeout", c.Console.IdleTimeout, time.Minute, 24 * time.Hour},
		{"console.session_lifetime", c.Console.SessionLifetime, 5 * time.Minute, 7 * 24 * time.Hour},
	}
	for _, r := range durations {
		if r.d < r.min || r.d > r.max {
			bad(r.key, "%s is not between %s and %s", formatDuration(r.d), formatDuration(r.min), formatDuration(r.max))
		}
	}
	if n := c.DB.MaxOpenConns; n < 1 || n > 1000 {
		bad("db.max_open_conns", "%d is not between 1 and 1000", n)
	}
	for _, r := range []struct {
		key string
		n   int
	}{
		{"rate_limit.user_per_minute", c.RateLimit.UserPerMinute},
		{"rate_limit.ip_per_minute", c.RateLimit.IPPerMinute},
	} {
		if r.n < 0 || r.n > MaxRateLimitPerMinute {
			bad(r.key, "%d is not between 0 (off) and %d", r.n, MaxRateLimitPerMinute)
		}
	}
	if n := c.RateLimit.StatusPolls; n < 1 || n > MaxStatusPolls {
		bad("rate_limit.status_polls", "%d is not between 1 and %d", n, MaxStatusPolls)
	}
	if n := len(c.Organization); n > MaxOrganizationLen {
		bad("organization", "%d bytes is longer than %d", n, MaxOrganizationLen)
	} else if strings.IndexFunc(c.Organization, unicode.IsControl) >= 0 || !utf8.ValidString(c.Organization) {
		bad("organization", "must be printable UTF-8 text")
	}
	if c.Metrics.Listen != "" {
		if _, msg := listenPort(c.Metrics.Listen); msg != "" {
			bad("metrics.listen", "%q %s", c.Metrics.Listen, msg)
		}
	}
	if t := c.Metrics.Token.Reveal(); t != "" && (len(t) < 16 || strings.IndexFunc(t, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0) {
		bad("metrics.token", "must be at least 16 printable ASCII characters without spaces")
	}
	if msg := helpContactProblem(c.Web.HelpContact); msg != "" {
		bad("web.help_contact", "%s", msg)
	}
	if !isHexColor(c.Web.BrandColor) {
		bad("web.brand_color", "%q is not a colour written #rrggbb", c.Web.BrandColor)
	}
	if c.Web.SessionIdleTimeout > c.Web.SessionLifetime {
		bad("web.session_idle_timeout", "%s is longer than web.session_lifetime (%s)",
			formatDuration(c.Web.SessionIdleTimeout), formatDuration(c.Web.SessionLifetime))
	}
	if c.Console.IdleTimeout > c.Console.SessionLifetime {
		bad("console.idle_timeout", "%s is longer than console.session_lifetime (%s)",
			formatDuration(c.Console.IdleTimeout), formatDuration(c.Console.SessionLifetime))
	}
	if c.LogoFile != "" {
		if _, msg := readLogo(c.LogoFile); msg != "" {
			bad("logo_file", "%s", msg)
		}
	}
	c.validateDelivery(bad)
	c.validateFirstFactor(bad)
	c.validateRadius(bad, func(at, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s (in the config file)", at, fmt.Sprintf(format, args...)))
	})
	return errors.Join(errs...)
}

// isHexColor reports whether s is "#rrggbb".
func isHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, r := range s[1:] {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

func oneOf(s string, choices ...string) bool {
	for _, c := range choices {
		if s == c {
			return true
		}
	}
	return false
}

// checkDatabase returns what is wrong with a database setting, or "". The
// message never repeats the setting, which may hold a password.
func checkDatabase(dsn string) string {
	kind, rest := splitDatabase(dsn)
	switch kind {
	case "":
		return `want "" (SQLite in the data dir), a postgres:// or postgresql:// URL, sqlite:///path or file:path`
	case Postgres:
		// Not the parse error: it can quote part of a password.
		if _, err := url.Parse(dsn); err != nil {
			return "is not a valid URL (percent-encode special characters in the user and password)"
		}
	case SQLite:
		if dsn == "" {
			return ""
		}
		path, query, _ := strings.Cut(rest, "?")
		switch {
		case path == "":
			return "has no SQLite file path"
		case path == ":memory:" || strings.Contains(query, "mode=memory"):
			return "in-memory SQLite is not supported: the read and write pools must share one file"
		case query != "":
			return "takes no ?options: twostep sets its own SQLite pragmas (see db.busy_timeout)"
		}
	}
	return ""
}

// validHost reports whether h is an IP address (without zone) or a DNS name
// of letters, digits and hyphens.
func validHost(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Zone() == ""
	}
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	// A name whose last label is numeric would read as a mistyped IPv4.
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// formatDuration is time.Duration.String without trailing zero units:
// "5m" rather than "5m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// isHTTPURL reports whether s is an absolute http(s) URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// validateDelivery checks the carrier settings.
func (c Config) validateDelivery(bad func(key, format string, args ...any)) {
	d := c.Delivery
	switch d.Carrier {
	case CarrierOutbox, CarrierTwilio, CarrierWebhook:
	default:
		bad("delivery.carrier", "%q is not outbox, twilio or webhook", d.Carrier)
	}
	if d.PublicURL != "" && !isHTTPURL(d.PublicURL) {
		bad("delivery.public_url", "%q is not an http(s) URL", d.PublicURL)
	}
	if d.Timeout < time.Second || d.Timeout > time.Minute {
		bad("delivery.timeout", "%s is not between 1s and 1m", formatDuration(d.Timeout))
	}
	if d.Retries < 0 || d.Retries > 5 {
		bad("delivery.retries", "%d is not between 0 and 5", d.Retries)
	}
	if len(d.CallPrompt) > 1000 {
		bad("delivery.call_prompt", "%d bytes is longer than 1000", len(d.CallPrompt))
	}
	for _, k := range []struct {
		key string
		d   time.Duration
	}{{"twilio.extension_pre_delay", c.Twilio.ExtensionPreDelay}, {"twilio.extension_post_delay", c.Twilio.ExtensionPostDelay}} {
		if k.d < 0 || k.d > 30*time.Second {
			bad(k.key, "%s is not between 0s and 30s", formatDuration(k.d))
		}
	}
	switch d.Carrier {
	case CarrierTwilio:
		t := c.Twilio
		if !isHTTPURL(t.BaseURL) {
			bad("twilio.base_url", "%q is not an http(s) URL", t.BaseURL)
		}
		if t.AccountSID == "" {
			bad("twilio.account_sid", "is required with delivery.carrier = \"twilio\"")
		}
		if t.AuthToken == "" {
			bad("twilio.auth_token", "is required with delivery.carrier = \"twilio\" (it checks X-Twilio-Signature on callbacks, even with an API key)")
		}
		if (t.APIKeySID == "") != (t.APIKeySecret == "") {
			bad("twilio.api_key_secret", "twilio.api_key_sid and twilio.api_key_secret go together")
		}
		if t.From == "" && t.MessagingServiceSID == "" {
			bad("twilio.from", "a from number (or, for SMS only, twilio.messaging_service_sid) is required")
		}
		if c.CallbackURL() == "" {
			bad("delivery.public_url", "is required with twilio: calls need a URL Twilio can call back")
		}
	case CarrierWebhook:
		if !isHTTPURL(c.Webhook.URL) {
			bad("webhook.url", "%q is not an http(s) URL", c.Webhook.URL)
		}
		if len(c.Webhook.Secret.Reveal()) < 16 {
			bad("webhook.secret", "must be at least 16 characters")
		}
	}
	c.validateSMTP(bad)
}

// validateSMTP checks the email settings (only when smtp.host is set;
// without it email goes to the outbox).
func (c Config) validateSMTP(bad func(key, format string, args ...any)) {
	m := c.SMTP
	switch m.TLS {
	case SMTPStartTLS, SMTPImplicit:
	case SMTPNone:
		if m.Host != "" && !isLoopbackHost(m.Host) {
			bad("smtp.tls", "\"none\" is allowed only to a loopback host (localhost, 127.0.0.1, ::1), not %q: use starttls or implicit", m.Host)
		}
	default:
		bad("smtp.tls", "%q is not starttls, implicit or none", m.TLS)
	}
	if m.Port < 0 || m.Port > 65535 {
		bad("smtp.port", "%d is not between 0 and 65535", m.Port)
	}
	if (m.Username == "") != (m.Password == "") {
		bad("smtp.password", "smtp.username and smtp.password go together")
	}
	if m.Host == "" {
		return
	}
	if strings.ContainsAny(m.Host, "/: \t") && net.ParseIP(m.Host) == nil {
		bad("smtp.host", "%q is not a host name (give the port in smtp.port)", m.Host)
	}
	if a, err := mail.ParseAddress(m.From); err != nil || a.Name != "" {
		bad("smtp.from", "%q is not a plain email address (required with smtp.host)", m.From)
	}
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validateFirstFactor checks [first_factor], [ldap] and [oidc].
func (c Config) validateFirstFactor(bad func(key, format string, args ...any)) {
	ff := c.FirstFactor
	for _, sl := range []struct {
		key  string
		list []string
	}{{"first_factor.oidc", ff.OIDC}, {"first_factor.portal", ff.Portal}, {"first_factor.console", ff.Console}, {"first_factor.radius", ff.Radius}} {
		key, list := sl.key, sl.list
		if len(list) == 0 {
			bad(key, "must list at least one source: password, ldap")
		}
		seen := map[string]bool{}
		for _, s := range list {
			if s != SourcePassword && s != SourceLDAP {
				bad(key, "%q is not password or ldap", s)
			}
			if seen[s] {
				bad(key, "%q is listed twice", s)
			}
			seen[s] = true
		}
	}
	// Administrators sign in to the console with their twostep
	// administrator password (internal/authflow CheckAdminPassword); no
	// directory bind is wired there, so a config that names one is
	// refused rather than ignored.
	for _, s := range ff.Console {
		if s == SourceLDAP {
			bad("first_factor.console", "%q is not supported: administrators sign in with their twostep administrator password; use [\"password\"]", s)
		}
	}
	if ff.MinPasswordLength < 8 || ff.MinPasswordLength > 128 {
		bad("first_factor.min_password_length", "%d is not between 8 and 128", ff.MinPasswordLength)
	}
	if d := c.OIDC.KeyRotation; d < time.Hour || d > 365*24*time.Hour {
		bad("oidc.key_rotation", "%s is not between 1h and 8760h", formatDuration(d))
	}
	if d := c.OIDC.SessionLifetime; d < time.Minute || d > 30*24*time.Hour {
		bad("oidc.session_lifetime", "%s is not between 1m and 720h", formatDuration(d))
	}
	l := c.LDAP
	if !ff.UsesLDAP() && len(l.URLs) == 0 {
		return
	}
	if len(l.URLs) == 0 {
		bad("ldap.urls", "must list the directory's servers when a first_factor surface uses ldap")
	}
	if !oneOf(l.TLS, "starttls", "ldaps", "none") {
		bad("ldap.tls", "%q is not one of starttls, ldaps, none", l.TLS)
	}
	for _, raw := range l.URLs {
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "ldap" && u.Scheme != "ldaps"):
			bad("ldap.urls", "%q is not ldap://host[:port] or ldaps://host[:port]", raw)
		case l.TLS == "ldaps" && u.Scheme != "ldaps":
			bad("ldap.urls", "%q must be ldaps:// with tls = \"ldaps\"", raw)
		case l.TLS == "starttls" && u.Scheme != "ldap":
			bad("ldap.urls", "%q must be ldap:// with tls = \"starttls\" (use tls = \"ldaps\" for ldaps://)", raw)
		case l.TLS == "none" && !isLoopbackHost(u.Hostname()):
			bad("ldap.tls", "none sends passwords in the clear: allowed only for loopback URLs, not %q", raw)
		}
	}
	if l.BaseDN == "" && l.UserDNTemplate == "" {
		bad("ldap.base_dn", "must be set (or ldap.user_dn_template for direct bind)")
	}
	if l.UserDNTemplate != "" && !strings.Contains(l.UserDNTemplate, "{username}") {
		bad("ldap.user_dn_template", "must contain {username}")
	}
	if l.UserDNTemplate == "" && !strings.Contains(l.UserFilter, "{username}") {
		bad("ldap.user_filter", "must contain {username}")
	}
	if (l.BindDN == "") != (l.BindPassword == "") {
		bad("ldap.bind_password", "ldap.bind_dn and ldap.bind_password go together")
	}
	if l.Timeout < 100*time.Millisecond || l.Timeout > time.Minute {
		bad("ldap.timeout", "%s is not between 100ms and 1m", formatDuration(l.Timeout))
	}
}

// MaxHelpContactLen bounds web.help_contact.
const MaxHelpContactLen = 200

// helpContactProblem says what is wrong with a help contact, or "".
func helpContactProblem(s string) string {
	if utf8.RuneCountInString(s) > MaxHelpContactLen {
		return fmt.Sprintf("is longer than %d characters", MaxHelpContactLen)
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "holds a control character (a line break?); write it on one line"
		}
	}
	return ""
}
