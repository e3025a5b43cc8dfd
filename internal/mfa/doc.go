// Package mfa is twostep's domain: the nouns (User, Phone, Authenticator,
// Token, BypassCode, SMSBatch, Transaction, AuthLogEntry, Integration,
// Admin, Settings), the error vocabulary (Error and Kind) and the contracts
// that storage and notification adapters implement (Store and friends).
//
// It imports only the standard library. Business rules live in the services
// (internal/authflow, internal/admin); storage adapters (internal/sqlstore)
// implement the contracts here and prove it with mfatest.RunStoreTests.
package mfa
