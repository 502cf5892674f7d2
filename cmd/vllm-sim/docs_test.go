package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/servebench/servebench/internal/doccmd"
)

// TestDocumentedCommands parses every vllm-sim command line of the docs
// (docker run lines of its image included) in -h form.
func TestDocumentedCommands(t *testing.T) {
	cmds, err := doccmd.Find("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if c.Program != "vllm-sim" {
			continue
		}
		var out, errb bytes.Buffer
		args := c.HelpForm(newRoot(newOptions(), io.Discard, env(nil)))
		if code := run(context.Background(), args, &out, &errb, env(c.Env)); code != exitOK || out.Len() == 0 {
			t.Errorf("%s: exit %d\n%s", c, code, errb.String())
		}
	}
}
