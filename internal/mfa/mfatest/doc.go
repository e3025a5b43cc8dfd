// Package mfatest owns what every implementation of the mfa contracts is
// tested with: the shared storage conformance suite RunStoreTests, which
// every backend (SQLite, PostgreSQL) runs from its own tests, the small
// fixture helpers the suite is built from (NewUser, NewPhone, ...), which
// service tests may reuse against a real store, and the recording Notifier
// fake.
//
// The suite is the executable form of the doc comments in mfa/store.go: a
// behaviour those comments promise is tested here, once, for every backend.
//
// It imports only mfa, the standard library (testing among it) and go-cmp,
// never a backend: a backend imports mfatest, not the other way round.
package mfatest
