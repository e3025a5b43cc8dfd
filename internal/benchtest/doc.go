// Package benchtest runs benchmarks as ordinary tests, for a few
// iterations each, so that `go test` (CI) proves every benchmark still
// runs (issue 17: "CI runs a few-second version of each benchmark"). It
// checks nothing about speed. Only tests import it.
package benchtest
