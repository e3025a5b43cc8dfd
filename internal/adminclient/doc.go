// Package adminclient is a small signed HTTPS client for twostep's (and
// Duo's) Admin API, for the operator CLI and tests.
//
// It signs every request with duoproto's v2 canonical string and
// HMAC-SHA512, decodes the {stat, response, metadata} envelope, follows
// next_offset to collect whole lists, and turns a FAIL envelope into an
// [*Error] carrying the code, message and message_detail.
//
// It imports only the standard library and internal/duoproto; it must not
// import the server side (adminapi, admin, sqlstore).
package adminclient
