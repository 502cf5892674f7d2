package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/servebench/servebench/internal/doccmd"
)

// TestDocumentedCommands parses every exporter command line of the docs in
// -h form: every flag and value still parses.
func TestDocumentedCommands(t *testing.T) {
	cmds, err := doccmd.Find("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if c.Program != "exporter" {
			continue
		}
		var out, errb bytes.Buffer
		if code := run(context.Background(), c.HelpForm(newRoot(io.Discard)), &out, &errb); code != exitOK || out.Len() == 0 {
			t.Errorf("%s: exit %d\n%s", c, code, errb.String())
		}
	}
}
