// Package doctable keeps generated tables inside hand-written documents: the
// text between a begin marker line and an end marker line belongs to a
// generator (usually a test run with -update), the rest to the author.
package doctable

import (
	"bytes"
	"fmt"
	"os"

	"github.com/servebench/servebench/internal/atomicfile"
)

// Between returns the text between the markers in doc.
func Between(doc []byte, begin, end string) (string, error) {
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i+len(begin) {
		return "", fmt.Errorf("no %q ... %q markers", begin, end)
	}
	return string(doc[i+len(begin) : j]), nil
}

// Replace rewrites the text between the markers in the file at path.
func Replace(path, begin, end, text string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if _, err := Between(doc, begin, end); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	i, j := bytes.Index(doc, []byte(begin))+len(begin), bytes.Index(doc, []byte(end))
	out := append(append(append([]byte{}, doc[:i]...), text...), doc[j:]...)
	return atomicfile.WriteFile(path, out, 0o644)
}
