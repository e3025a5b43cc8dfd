package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"
)

// escapeText makes s safe to print on an operator's terminal: control
// characters (C0 such as ESC, DEL, C1), Unicode format characters (such as
// the bidirectional overrides) and invalid UTF-8 bytes are shown as Go
// escapes (\x1b, \u202e); everything else, backslashes included, is
// shown as it is. Text stored by devices, users or other administrators
// goes through it in every table and field list, so none of it can move
// the cursor, retitle the window or reorder what the operator reads.
func escapeText(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.IndexFunc(s, unsafeRune) >= 0
}

func unsafeRune(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

// table writes aligned columns; empty cells become "-".
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(headers) > 0 {
		t.row(headers...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		// A tab or newline inside a cell would break the columns; other
		// control characters would reach the terminal.
		c = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
		cells[i] = orDash(escapeText(c))
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// fields writes "Name:  value" lines, aligned.
func writeFields(w io.Writer, kv ...string) error {
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		v := strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(kv[i+1])
		fmt.Fprintf(t, "%s:\t%s\n", kv[i], orDash(escapeText(v)))
	}
	return t.Flush()
}
