// Package archtest enforces the dependency rules of ARCHITECTURE.md with
// `go list -deps`: the domain imports only the standard library, services
// never import storage, HTTP or wire code, adapters never import each other.
// Only its tests do anything; the rules live in rules.go.
package archtest
