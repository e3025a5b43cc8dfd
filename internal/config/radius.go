package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Radius configures the RADIUS front end (internal/radiusd). It is off
// while Listen is empty.
type Radius struct {
	// Listen is the UDP host:port RADIUS Access-Requests arrive on
	// (usually ":1812"); port 0 picks one. Empty turns RADIUS off.
	Listen string `koanf:"listen"`
	// Clients are the NASes (VPN concentrators, firewalls, Wi-Fi
	// controllers) allowed to ask, each a [[radius.clients]] table. They
	// are read from the TOML file only: a list of tables has no
	// environment form.
	Clients []RadiusClient `koanf:"clients"`
}

// RadiusClient is one [[radius.clients]] table.
type RadiusClient struct {
	// Name is shown in the authentication log as the application; unique.
	Name string `koanf:"name"`
	// Networks are the source addresses (CIDR prefixes or single
	// addresses) allowed to send this client's requests. The networks of
	// two clients must not overlap.
	Networks []string `koanf:"networks"`
	// Secret is the RADIUS shared secret (or secret_file).
	Secret Secret `koanf:"secret"`
	// FirstFactor is none (the password field carries the second factor
	// only), proxy (an upstream RADIUS server checks the password first)
	// or local (not available yet).
	FirstFactor string `koanf:"first_factor"`
	// Mode is append, challenge or auto.
	Mode string `koanf:"mode"`
	// Failmode is secure (reject) or safe (accept, logged) when twostep's
	// own database is unreachable.
	Failmode string `koanf:"failmode"`
	// EnrollPolicy is what happens to a user twostep does not know or who
	// has no device: enroll (reject, telling them to enroll), allow (accept
	// on the first factor alone) or deny.
	EnrollPolicy string `koanf:"enroll_policy"`
	// Timeout bounds one request's answer, a push's wait included. The
	// NAS's own timeout (times its retries) must be at least this long.
	Timeout time.Duration `koanf:"timeout"`
	// Proxy is the upstream RADIUS server, with first_factor = "proxy".
	Proxy RadiusProxy `koanf:"proxy"`
}

// RadiusProxy is a [radius.clients.proxy] table: the upstream RADIUS
// server that checks the first factor.
type RadiusProxy struct {
	Address string        `koanf:"address"` // host:port
	Secret  Secret        `koanf:"secret"`  // or secret_file
	Timeout time.Duration `koanf:"timeout"` // one exchange, retries included
}

// RADIUS client settings' choices and defaults.
const (
	RadiusFirstFactorNone  = "none"
	RadiusFirstFactorLocal = "local"
	RadiusFirstFactorProxy = "proxy"

	RadiusModeAppend    = "append"
	RadiusModeChallenge = "challenge"
	RadiusModeAuto      = "auto"

	RadiusFailSecure = "secure"
	RadiusFailSafe   = "safe"

	DefaultRadiusTimeout      = 60 * time.Second
	DefaultRadiusProxyTimeout = 10 * time.Second
)

// defaultRadiusClient is a client table's values before its keys apply.
func defaultRadiusClient() RadiusClient {
	return RadiusClient{
		FirstFactor:  RadiusFirstFactorNone,
		Mode:         RadiusModeAppend,
		Failmode:     RadiusFailSecure,
		EnrollPolicy: "enroll",
		Timeout:      DefaultRadiusTimeout,
		Proxy:        RadiusProxy{Timeout: DefaultRadiusProxyTimeout},
	}
}

// radiusClientsFromTOML reads the [[radius.clients]] array of tables.
// Errors name the entry ("radius.clients[1].mode") and never a secret.
func radiusClientsFromTOML(v any) ([]RadiusClient, error) {
	list, ok := v.([]any)
	if !ok {
		if m, isMap := v.(map[string]any); isMap && len(m) > 0 {
			return nil, errors.New("want an array of tables [[radius.clients]], got a table [radius.clients]")
		}
		return nil, fmt.Errorf("want an array of tables [[radius.clients]], got %s", describe(v))
	}
	var out []RadiusClient
	var errs []error
	for i, e := range list {
		at := fmt.Sprintf("radius.clients[%d]", i)
		m, ok := e.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: want a table, got %s", at, describe(e)))
			continue
		}
		c := defaultRadiusClient()
		errs = append(errs, decodeTable(at, m, radiusClientKeys(&c)))
		if p, ok := m["proxy"]; ok {
			pm, ok := p.(map[string]any)
			if !ok {
				errs = append(errs, fmt.Errorf("%s.proxy: want a table, got %s", at, describe(p)))
			} else {
				errs = append(errs, decodeTable(at+".proxy", pm, radiusProxyKeys(&c.Proxy)))
			}
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

// tableKey is one key of a table inside a list of tables: where its value
// goes.
type tableKey struct {
	name string
	dst  any // *string, *Secret, *[]string, *time.Duration
}

func radiusClientKeys(c *RadiusClient) []tableKey {
	return []tableKey{
		{"name", &c.Name}, {"networks", &c.Networks}, {"secret", &c.Secret},
		{"first_factor", &c.FirstFactor}, {"mode", &c.Mode}, {"failmode", &c.Failmode},
		{"enroll_policy", &c.EnrollPolicy}, {"timeout", &c.Timeout},
	}
}

func radiusProxyKeys(p *RadiusProxy) []tableKey {
	return []tableKey{{"address", &p.Address}, {"secret", &p.Secret}, {"timeout", &p.Timeout}}
}

// decodeTable sets keys from m, reading secret files, and reports unknown
// keys and wrong types. The "proxy" sub-table is the caller's.
func decodeTable(at string, m map[string]any, keys []tableKey) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", at, key, fmt.Sprintf(format, args...)))
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		v := m[name]
		if name == "proxy" && strings.HasPrefix(at, "radius.clients[") && !strings.HasSuffix(at, ".proxy") {
			continue
		}
		i := slices.IndexFunc(keys, func(k tableKey) bool { return k.name == name })
		if i < 0 {
			base, isFile := strings.CutSuffix(name, "_file")
			j := slices.IndexFunc(keys, func(k tableKey) bool { return k.name == base })
			if !isFile || j < 0 {
				bad(name, "unknown key")
				continue
			}
			s, isSecret := keys[j].dst.(*Secret)
			if !isSecret {
				bad(name, "unknown key")
				continue
			}
			if _, both := m[base]; both {
				bad(name, "%s is also set; use one of them", base)
				continue
			}
			p, ok := v.(string)
			if !ok {
				bad(name, "want a file name (a string), got %s", describe(v))
				continue
			}
			val, err := readSecretFile(p)
			if err != nil {
				bad(name, "%v", err)
				continue
			}
			*s = Secret(val)
			continue
		}
		switch dst := keys[i].dst.(type) {
		case *string:
			s, ok := v.(string)
			if !ok {
				bad(name, "want a string, got %s", describe(v))
				continue
			}
			*dst = s
		case *Secret:
			s, ok := v.(string)
			if !ok {
				bad(name, "want a string, got %s", describe(v))
				continue
			}
			*dst = Secret(s)
		case *time.Duration:
			val, err := fromTOML(field{kind: kindDuration}, v)
			if err != nil {
				bad(name, "%v", err)
				continue
			}
			*dst = val.(time.Duration)
		case *[]string:
			val, err := fromTOML(field{kind: kindList}, v)
			if err != nil {
				bad(name, "%v", err)
				continue
			}
			*dst = val.([]string)
		}
	}
	return errors.Join(errs...)
}

// Limits of RADIUS client settings.
const (
	MaxRadiusClients      = 1000
	MinRadiusSecretLen    = 16
	MaxRadiusSecretLen    = 128
	MaxRadiusClientName   = 64
	MinRadiusTimeout      = time.Second
	MaxRadiusTimeout      = 5 * time.Minute
	MaxRadiusProxyTimeout = time.Minute
)

// validateRadius reports every problem of the radius settings, each
// naming its key.
func (c Config) validateRadius(bad func(key, format string, args ...any), badAt func(at, format string, args ...any)) {
	r := c.Radius
	if r.Listen != "" {
		if _, msg := listenPort(r.Listen); msg != "" {
			bad("radius.listen", "%q %s", r.Listen, msg)
		}
		if len(r.Clients) == 0 {
			bad("radius.listen", "is set but no [[radius.clients]] is configured: every request would be dropped")
		}
	}
	if len(r.Clients) > MaxRadiusClients {
		badAt("radius.clients", "%d clients are more than %d", len(r.Clients), MaxRadiusClients)
	}
	names := map[string]int{}
	type owned struct {
		p    netip.Prefix
		name string
	}
	var nets []owned
	for i, cl := range r.Clients {
		at := fmt.Sprintf("radius.clients[%d]", i)
		switch {
		case cl.Name == "":
			badAt(at+".name", "must not be empty")
		case len(cl.Name) > MaxRadiusClientName || strings.IndexFunc(cl.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0:
			badAt(at+".name", "must be at most %d printable characters", MaxRadiusClientName)
		default:
			if j, dup := names[cl.Name]; dup {
				badAt(at+".name", "%q is also the name of radius.clients[%d]", cl.Name, j)
			}
			names[cl.Name] = i
		}
		if len(cl.Networks) == 0 {
			badAt(at+".networks", "must list at least one source network, such as \"10.0.0.0/24\"")
		}
		for _, n := range cl.Networks {
			p, err := ParseNetwork(n)
			if err != nil {
				badAt(at+".networks", "%v", err)
				continue
			}
			for _, o := range nets {
				if o.p.Overlaps(p) {
					badAt(at+".networks", "%s overlaps %s of client %q: a source address must name one client", p, o.p, o.name)
				}
			}
			nets = append(nets, owned{p, cl.Name})
		}
		checkRadiusSecret(badAt, at+".secret", cl.Secret)
		switch cl.FirstFactor {
		case RadiusFirstFactorNone:
		case RadiusFirstFactorProxy:
			if _, msg := listenPort(cl.Proxy.Address); msg != "" || strings.HasSuffix(cl.Proxy.Address, ":0") {
				badAt(at+".proxy.address", "%q is not the upstream RADIUS server's host:port", cl.Proxy.Address)
			}
			checkRadiusSecret(badAt, at+".proxy.secret", cl.Proxy.Secret)
			if d := cl.Proxy.Timeout; d < 100*time.Millisecond || d > MaxRadiusProxyTimeout {
				badAt(at+".proxy.timeout", "%s is not between 100ms and %s", formatDuration(d), formatDuration(MaxRadiusProxyTimeout))
			}
		case RadiusFirstFactorLocal:
		default:
			badAt(at+".first_factor", "%q is not one of none, proxy, local", cl.FirstFactor)
		}
		if cl.FirstFactor != RadiusFirstFactorProxy && (cl.Proxy.Address != "" || cl.Proxy.Secret != "") {
			badAt(at+".proxy", "is set but first_factor is %q, not \"proxy\"", cl.FirstFactor)
		}
		if !oneOf(cl.Mode, RadiusModeAppend, RadiusModeChallenge, RadiusModeAuto) {
			badAt(at+".mode", "%q is not one of append, challenge, auto", cl.Mode)
		}
		if !oneOf(cl.Failmode, RadiusFailSecure, RadiusFailSafe) {
			badAt(at+".failmode", "%q is not one of secure, safe", cl.Failmode)
		}
		if !oneOf(cl.EnrollPolicy, "enroll", "allow", "deny") {
			badAt(at+".enroll_policy", "%q is not one of enroll, allow, deny", cl.EnrollPolicy)
		}
		if cl.Timeout < MinRadiusTimeout || cl.Timeout > MaxRadiusTimeout {
			badAt(at+".timeout", "%s is not between %s and %s", formatDuration(cl.Timeout), formatDuration(MinRadiusTimeout), formatDuration(MaxRadiusTimeout))
		}
	}
}

func checkRadiusSecret(badAt func(at, format string, args ...any), at string, s Secret) {
	v := s.Reveal()
	switch {
	case v == "":
		badAt(at, "must be set (or %s_file)", at[strings.LastIndex(at, ".")+1:])
	case len(v) < MinRadiusSecretLen || len(v) > MaxRadiusSecretLen:
		badAt(at, "must be %d to %d characters (BlastRADIUS: use a long random secret)", MinRadiusSecretLen, MaxRadiusSecretLen)
	case strings.IndexFunc(v, func(r rune) bool { return r < ' ' || r > '~' }) >= 0:
		badAt(at, "must be printable ASCII")
	}
}

// ParseNetwork parses a radius client network: a CIDR prefix
// ("10.0.0.0/24") or a single address ("192.0.2.7"), masked to its prefix.
func ParseNetwork(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q has a zone", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or a CIDR prefix such as 10.0.0.0/24", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
