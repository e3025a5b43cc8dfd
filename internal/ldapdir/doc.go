// Package ldapdir checks first-factor passwords against an LDAP directory
// or Active Directory (mfa.Directory), by binding as the user:
//
//   - servers are tried in the configured order (failover): a server that
//     cannot be reached or times out is skipped, and when none answers
//     the answer is Unavailable, never an acceptance;
//   - the connection is LDAPS (ldaps://) or StartTLS (ldap:// with
//     start_tls), verified against the configured CA file; plain LDAP is
//     refused unless explicitly allowed (insecure, for tests only);
//   - the user is found with the configured filter, {username} replaced
//     by the name escaped with ldap.EscapeFilter, under the base DN, as
//     the service account (or anonymously); or, in direct-bind mode,
//     the DN is built from a template with {username} escaped by
//     ldap.EscapeDN;
//   - the password is checked by binding as the user's DN; an empty
//     password is refused before any bind (an empty simple bind is an
//     anonymous bind, which servers accept);
//   - an unknown user costs a bind too (to a DN that does not exist), so
//     that it takes about as long as a wrong password and gets the same
//     answer, mfa.ErrBadCredentials.
//
// ldapdir is an adapter: it imports mfa and github.com/go-ldap/ldap/v3,
// never a service, an edge or another adapter.
package ldapdir
