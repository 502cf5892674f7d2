package doctable

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.md")
	const begin, end = "<!-- BEGIN -->\n", "<!-- END -->\n"
	if err := os.WriteFile(path, []byte("intro\n"+begin+"old\n"+end+"outro\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Replace(path, begin, end, "| new |\n"); err != nil {
		t.Fatal(err)
	}
	doc, _ := os.ReadFile(path)
	if string(doc) != "intro\n"+begin+"| new |\n"+end+"outro\n" {
		t.Fatalf("got %q", doc)
	}
	if got, err := Between(doc, begin, end); err != nil || got != "| new |\n" {
		t.Fatalf("between: %q, %v", got, err)
	}
	if err := Replace(path, "<!-- NOPE -->\n", end, "x"); err == nil {
		t.Fatal("missing marker: no error")
	}
	if _, err := Between([]byte(end+begin), begin, end); err == nil {
		t.Fatal("markers in the wrong order: no error")
	}
}
