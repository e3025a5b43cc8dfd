// Package browsertest drives real headless Chromium (Debian's
// /usr/bin/chromium, through chromedp) against twostep's pages in tests:
// start a tab with New, check a page's accessibility with CheckA11y (the
// vendored axe-core; serious and critical violations fail the test), and
// record it with Screenshot (docs/screenshots/<name>.png, only when
// TWOSTEP_UPDATE_SCREENSHOTS=1).
//
// It is a test helper imported only by _test files. Without chromium a
// test using it is skipped, except under CI=true, where it fails.
package browsertest
