package archtest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Module is the module path.
const Module = "github.com/twostep-auth/twostep"

// Package is what the rules see of one package: its import path relative
// to the module ("internal/mfa"), and every package it depends on,
// directly or not (full import paths).
type Package struct {
	Path string
	Deps []string
}

// Rule is one dependency rule.
type Rule struct {
	Name string
	// Applies selects the packages the rule governs.
	Applies func(rel string) bool
	// Forbidden reports whether a dependency (full import path) breaks it.
	Forbidden func(dep string) bool
}

func isStd(dep string) bool {
	first, _, _ := strings.Cut(dep, "/")
	return !strings.Contains(first, ".")
}

func ours(dep string) (rel string, ok bool) {
	if dep == Module {
		return "", true
	}
	return strings.CutPrefix(dep, Module+"/")
}

func under(prefixes ...string) func(string) bool {
	return func(rel string) bool {
		for _, p := range prefixes {
			if rel == p || strings.HasPrefix(rel, p+"/") {
				return true
			}
		}
		return false
	}
}

func not(f func(string) bool) func(string) bool { return func(s string) bool { return !f(s) } }

// oursExcept forbids every package of ours but the allowed ones.
func oursExcept(allowed ...string) func(string) bool {
	return func(dep string) bool {
		rel, ok := ours(dep)
		return ok && !under(allowed...)(rel)
	}
}

var (
	adapters = []string{"internal/sqlstore", "internal/notify", "internal/ldapdir", "internal/fido"}
	edges    = []string{"internal/authapi", "internal/adminapi", "internal/deviceapi", "internal/web", "internal/oidc", "internal/radiusd"}
	services = []string{"internal/authflow", "internal/admin"}
)

// Rules are the project's dependency rules.
func Rules() []Rule {
	return []Rule{
		{
			Name:      "mfa imports only the standard library",
			Applies:   func(rel string) bool { return rel == "internal/mfa" },
			Forbidden: not(isStd),
		},
		{
			Name:      "otp, duoproto, seal, reqid and ratelimit import nothing of ours",
			Applies:   under("internal/otp", "internal/duoproto", "internal/seal", "internal/reqid", "internal/ratelimit"),
			Forbidden: oursExcept(),
		},
		{
			Name:      "config imports only seal of ours",
			Applies:   under("internal/config"),
			Forbidden: oursExcept("internal/seal"),
		},
		{
			Name:    "services never import storage, HTTP, wire code, web or vendor SDKs",
			Applies: under(services...),
			Forbidden: func(dep string) bool {
				if rel, ok := ours(dep); ok {
					return under(append(append([]string{"internal/duoproto", "internal/api", "internal/server"}, adapters...), edges...)...)(rel)
				}
				if isStd(dep) {
					return dep == "net/http" || strings.HasPrefix(dep, "net/http/") || dep == "database/sql"
				}
				return !strings.HasPrefix(dep, "golang.org/x/crypto/") && !strings.HasPrefix(dep, "golang.org/x/time/") &&
					!strings.HasPrefix(dep, "golang.org/x/sys/")
			},
		},
		{
			// The app holds secrets on a user's machine: it shares only the
			// pure OTP and wire code with the server.
			Name:      "the authenticator app (cmd/twostep, vault, deviceclient) imports only otp and duoproto of the server's",
			Applies:   under("cmd/twostep", "internal/vault", "internal/deviceclient"),
			Forbidden: oursExcept("internal/otp", "internal/duoproto", "internal/vault", "internal/deviceclient"),
		},
		{
			Name:      "adapters never import each other, services or edges",
			Applies:   under(adapters...),
			Forbidden: oursExcept("internal/mfa", "internal/seal"),
		},
		{
			Name:    "edges never import adapters or each other",
			Applies: under(edges...),
			Forbidden: func(dep string) bool {
				rel, ok := ours(dep)
				return ok && (under(adapters...)(rel) || under(edges...)(rel))
			},
		},
	}
}

// Check returns every violation, sorted. A package may always depend on its
// own ancestors and descendants (internal/sqlstore/sqltest on
// internal/sqlstore); siblings are separate packages under the rules.
func Check(pkgs []Package, rules []Rule) []string {
	var out []string
	for _, p := range pkgs {
		for _, r := range rules {
			if !r.Applies(p.Path) {
				continue
			}
			for _, dep := range p.Deps {
				if rel, ok := ours(dep); ok && (rel == p.Path || strings.HasPrefix(rel, p.Path+"/") || strings.HasPrefix(p.Path, rel+"/")) {
					continue
				}
				if r.Forbidden(dep) {
					out = append(out, fmt.Sprintf("%s depends on %s: breaks %q", p.Path, dep, r.Name))
				}
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
