package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

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
		// A tab or newline inside a cell would break the columns.
		c = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
		cells[i] = orDash(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// fields writes "Name:  value" lines, aligned.
func writeFields(w io.Writer, kv ...string) error {
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		v := strings.NewReplacer("\t", " ", "\n", " ").Replace(kv[i+1])
		fmt.Fprintf(t, "%s:\t%s\n", kv[i], orDash(v))
	}
	return t.Flush()
}
