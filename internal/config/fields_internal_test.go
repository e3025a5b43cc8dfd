package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEnvTable pins the environment variable of every key: renaming a field
// tag changes the operator-facing interface, so it must show up here.
func TestEnvTable(t *testing.T) {
	want := [][2]string{
		{"data", "TWOSTEP_DATA"},
		{"listen", "TWOSTEP_LISTEN"},
		{"database", "TWOSTEP_DATABASE"},
		{"database_file", "TWOSTEP_DATABASE_FILE"},
		{"public_hostnames", "TWOSTEP_PUBLIC_HOSTNAMES"},
		{"tls.cert", "TWOSTEP_TLS_CERT"},
		{"tls.key", "TWOSTEP_TLS_KEY"},
		{"master_key", "TWOSTEP_MASTER_KEY"},
		{"master_key_file", "TWOSTEP_MASTER_KEY_FILE"},
		{"log.level", "TWOSTEP_LOG_LEVEL"},
		{"log.format", "TWOSTEP_LOG_FORMAT"},
		{"clock_skew", "TWOSTEP_CLOCK_SKEW"},
		{"shutdown_timeout", "TWOSTEP_SHUTDOWN_TIMEOUT"},
		{"logo_file", "TWOSTEP_LOGO_FILE"},
		{"organization", "TWOSTEP_ORGANIZATION"},
		{"db.max_open_conns", "TWOSTEP_DB_MAX_OPEN_CONNS"},
		{"db.busy_timeout", "TWOSTEP_DB_BUSY_TIMEOUT"},
		{"rate_limit.user_per_minute", "TWOSTEP_RATE_LIMIT_USER_PER_MINUTE"},
		{"rate_limit.ip_per_minute", "TWOSTEP_RATE_LIMIT_IP_PER_MINUTE"},
		{"rate_limit.status_polls", "TWOSTEP_RATE_LIMIT_STATUS_POLLS"},
		{"metrics.listen", "TWOSTEP_METRICS_LISTEN"},
		{"metrics.token", "TWOSTEP_METRICS_TOKEN"},
		{"metrics.token_file", "TWOSTEP_METRICS_TOKEN_FILE"},
		{"web.brand_color", "TWOSTEP_WEB_BRAND_COLOR"},
		{"web.session_idle_timeout", "TWOSTEP_WEB_SESSION_IDLE_TIMEOUT"},
		{"web.session_lifetime", "TWOSTEP_WEB_SESSION_LIFETIME"},
		{"web.help_contact", "TWOSTEP_WEB_HELP_CONTACT"},
		{"radius.listen", "TWOSTEP_RADIUS_LISTEN"},
		{"radius.clients", ""}, // TOML only: [[radius.clients]]
		{"delivery.carrier", "TWOSTEP_DELIVERY_CARRIER"},
		{"delivery.public_url", "TWOSTEP_DELIVERY_PUBLIC_URL"},
		{"delivery.call_prompt", "TWOSTEP_DELIVERY_CALL_PROMPT"},
		{"delivery.timeout", "TWOSTEP_DELIVERY_TIMEOUT"},
		{"delivery.retries", "TWOSTEP_DELIVERY_RETRIES"},
		{"twilio.base_url", "TWOSTEP_TWILIO_BASE_URL"},
		{"twilio.account_sid", "TWOSTEP_TWILIO_ACCOUNT_SID"},
		{"twilio.auth_token", "TWOSTEP_TWILIO_AUTH_TOKEN"},
		{"twilio.auth_token_file", "TWOSTEP_TWILIO_AUTH_TOKEN_FILE"},
		{"twilio.api_key_sid", "TWOSTEP_TWILIO_API_KEY_SID"},
		{"twilio.api_key_secret", "TWOSTEP_TWILIO_API_KEY_SECRET"},
		{"twilio.api_key_secret_file", "TWOSTEP_TWILIO_API_KEY_SECRET_FILE"},
		{"twilio.from", "TWOSTEP_TWILIO_FROM"},
		{"twilio.messaging_service_sid", "TWOSTEP_TWILIO_MESSAGING_SERVICE_SID"},
		{"twilio.extension_pre_delay", "TWOSTEP_TWILIO_EXTENSION_PRE_DELAY"},
		{"twilio.extension_post_delay", "TWOSTEP_TWILIO_EXTENSION_POST_DELAY"},
		{"webhook.url", "TWOSTEP_WEBHOOK_URL"},
		{"webhook.secret", "TWOSTEP_WEBHOOK_SECRET"},
		{"webhook.secret_file", "TWOSTEP_WEBHOOK_SECRET_FILE"},
		{"smtp.host", "TWOSTEP_SMTP_HOST"},
		{"smtp.port", "TWOSTEP_SMTP_PORT"},
		{"smtp.tls", "TWOSTEP_SMTP_TLS"},
		{"smtp.username", "TWOSTEP_SMTP_USERNAME"},
		{"smtp.password", "TWOSTEP_SMTP_PASSWORD"},
		{"smtp.password_file", "TWOSTEP_SMTP_PASSWORD_FILE"},
		{"smtp.from", "TWOSTEP_SMTP_FROM"},
		{"smtp.ca_file", "TWOSTEP_SMTP_CA_FILE"},
		{"first_factor.oidc", "TWOSTEP_FIRST_FACTOR_OIDC"},
		{"first_factor.portal", "TWOSTEP_FIRST_FACTOR_PORTAL"},
		{"first_factor.console", "TWOSTEP_FIRST_FACTOR_CONSOLE"},
		{"first_factor.radius", "TWOSTEP_FIRST_FACTOR_RADIUS"},
		{"first_factor.min_password_length", "TWOSTEP_FIRST_FACTOR_MIN_PASSWORD_LENGTH"},
		{"ldap.urls", "TWOSTEP_LDAP_URLS"},
		{"ldap.tls", "TWOSTEP_LDAP_TLS"},
		{"ldap.ca_file", "TWOSTEP_LDAP_CA_FILE"},
		{"ldap.server_name", "TWOSTEP_LDAP_SERVER_NAME"},
		{"ldap.bind_dn", "TWOSTEP_LDAP_BIND_DN"},
		{"ldap.bind_password", "TWOSTEP_LDAP_BIND_PASSWORD"},
		{"ldap.bind_password_file", "TWOSTEP_LDAP_BIND_PASSWORD_FILE"},
		{"ldap.user_dn_template", "TWOSTEP_LDAP_USER_DN_TEMPLATE"},
		{"ldap.base_dn", "TWOSTEP_LDAP_BASE_DN"},
		{"ldap.user_filter", "TWOSTEP_LDAP_USER_FILTER"},
		{"ldap.username_attribute", "TWOSTEP_LDAP_USERNAME_ATTRIBUTE"},
		{"ldap.email_attribute", "TWOSTEP_LDAP_EMAIL_ATTRIBUTE"},
		{"ldap.name_attribute", "TWOSTEP_LDAP_NAME_ATTRIBUTE"},
		{"ldap.groups_attribute", "TWOSTEP_LDAP_GROUPS_ATTRIBUTE"},
		{"ldap.timeout", "TWOSTEP_LDAP_TIMEOUT"},
		{"oidc.key_rotation", "TWOSTEP_OIDC_KEY_ROTATION"},
		{"oidc.session_lifetime", "TWOSTEP_OIDC_SESSION_LIFETIME"},
		{"console.idle_timeout", "TWOSTEP_CONSOLE_IDLE_TIMEOUT"},
		{"console.session_lifetime", "TWOSTEP_CONSOLE_SESSION_LIFETIME"},
	}
	var got [][2]string
	keys, envs := map[string]bool{}, map[string]bool{}
	for _, f := range newFields() {
		pairs := [][2]string{{f.key, f.env}}
		if f.kind == kindSecret {
			pairs = append(pairs, [2]string{f.fileKey(), f.fileEnv()})
		}
		for _, p := range pairs {
			if keys[p[0]] || envs[p[1]] {
				t.Errorf("newFields() has %q / %q twice", p[0], p[1])
			}
			keys[p[0]], envs[p[1]] = true, true
			got = append(got, p)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("newFields() table mismatch (-want +got):\n%s", diff)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"listen", "listen", 0},
		{"lisen", "listen", 1},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
