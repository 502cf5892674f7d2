package orchestrate

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// TableWidth is the terminal width the results tables fit: a column holds
// a short mark, and a long reason goes below the table as a numbered
// footnote, wrapped at this width.
const TableWidth = 120

// table is a right-aligned table whose rows may sit under group headings
// (all groups aligned as one table, each row indented under its heading)
// and point to footnotes printed below it.
type table struct {
	header string
	rows   []string
	heads  map[int]string // heading printed before row i
	notes  []string
}

func newTable(header string) *table { return &table{header: header, heads: map[int]string{}} }

// group starts a group of rows under heading h.
func (t *table) group(h string) { t.heads[len(t.rows)] = h }

// row adds a row of tab-separated cells.
func (t *table) row(format string, a ...any) { t.rows = append(t.rows, fmt.Sprintf(format, a...)) }

// note adds a footnote and returns its mark, e.g. "[2]".
func (t *table) note(text string) string {
	t.notes = append(t.notes, text)
	return fmt.Sprintf("[%d]", len(t.notes))
}

// write prints the table, then its footnotes wrapped to TableWidth.
func (t *table) write(w io.Writer) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, t.header)
	for _, r := range t.rows {
		fmt.Fprintln(tw, r)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	indent := ""
	if len(t.heads) > 0 {
		indent = "  "
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	for i, l := range lines {
		if h, ok := t.heads[i-1]; ok {
			fmt.Fprintln(w, h)
		}
		fmt.Fprintln(w, strings.TrimRight(indent+l, " "))
	}
	for i, n := range t.notes {
		writeWrapped(w, fmt.Sprintf("[%d] ", i+1), n)
	}
	return nil
}

// writeWrapped prints prefix and text wrapped at TableWidth, continuation
// lines indented by the prefix's width.
func writeWrapped(w io.Writer, prefix, text string) {
	line, indent := prefix, strings.Repeat(" ", len(prefix))
	fresh := true
	for _, word := range strings.Fields(text) {
		if !fresh && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > TableWidth {
			fmt.Fprintln(w, line)
			line, fresh = indent, true
		}
		if !fresh {
			line += " "
		}
		line += word
		fresh = false
	}
	fmt.Fprintln(w, line)
}
