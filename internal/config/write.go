package config

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteTOML writes c as a TOML config file, secrets redacted: the output of
// `twostepd config check`. Each key is followed by a comment naming its
// environment variable. A PostgreSQL URL shows its user, host and database
// with the password replaced ([Config.DatabaseRedacted]).
func (c Config) WriteTOML(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# twostepd effective configuration. Secrets are redacted.\n")
	switch c.DatabaseKind() {
	case SQLite:
		fmt.Fprintf(&b, "# database: SQLite at %q\n", c.SQLitePath())
	case Postgres:
		b.WriteString("# database: PostgreSQL\n")
	}
	if h := c.APIHost(); h != "" {
		fmt.Fprintf(&b, "# api_host: %q\n", h)
	}

	fs := newFields()
	// TOML needs the top-level keys before the first [table].
	for _, f := range fs {
		if !strings.Contains(f.key, ".") {
			fmt.Fprintf(&b, "%s = %s  # %s\n", f.key, c.tomlValue(f), f.where())
		}
	}
	table := ""
	for _, f := range fs {
		group, name, ok := strings.Cut(f.key, ".")
		if !ok || f.kind == kindRadiusClients {
			continue
		}
		if group != table {
			table = group
			fmt.Fprintf(&b, "\n[%s]\n", group)
		}
		fmt.Fprintf(&b, "%s = %s  # %s\n", name, c.tomlValue(f), f.where())
	}
	c.writeRadiusClients(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRadiusClients writes each [[radius.clients]] table, secrets
// redacted (a redacted secret does not load back: re-enter it).
func (c Config) writeRadiusClients(b *strings.Builder) {
	list := func(v []string) string {
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = tomlString(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	for _, cl := range c.Radius.Clients {
		b.WriteString("\n[[radius.clients]]  # from the config file only\n")
		fmt.Fprintf(b, "name = %s\n", tomlString(cl.Name))
		fmt.Fprintf(b, "networks = %s\n", list(cl.Networks))
		fmt.Fprintf(b, "secret = %s\n", tomlString(cl.Secret.String()))
		fmt.Fprintf(b, "first_factor = %s\n", tomlString(cl.FirstFactor))
		fmt.Fprintf(b, "mode = %s\n", tomlString(cl.Mode))
		fmt.Fprintf(b, "failmode = %s\n", tomlString(cl.Failmode))
		fmt.Fprintf(b, "enroll_policy = %s\n", tomlString(cl.EnrollPolicy))
		fmt.Fprintf(b, "timeout = %s\n", tomlString(formatDuration(cl.Timeout)))
		if cl.FirstFactor == RadiusFirstFactorProxy || cl.Proxy.Address != "" {
			b.WriteString("[radius.clients.proxy]\n")
			fmt.Fprintf(b, "address = %s\n", tomlString(cl.Proxy.Address))
			fmt.Fprintf(b, "secret = %s\n", tomlString(cl.Proxy.Secret.String()))
			fmt.Fprintf(b, "timeout = %s\n", tomlString(formatDuration(cl.Proxy.Timeout)))
		}
	}
}

// tomlValue renders f's value in c as TOML, secrets redacted.
func (c Config) tomlValue(f field) string {
	switch v := f.value(&c).(type) {
	case Secret:
		if f.key == "database" {
			return tomlString(c.DatabaseRedacted())
		}
		return tomlString(v.String())
	case string:
		return tomlString(v)
	case int:
		return strconv.Itoa(v)
	case time.Duration:
		return tomlString(formatDuration(v))
	case []string:
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = tomlString(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	panic("config: no TOML form for " + f.key)
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s { // invalid UTF-8 becomes U+FFFD, as TOML must be UTF-8
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
