package cli

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func testRoot(got *[]string, gotTitle *string, gotN *int) *cobra.Command {
	root := &cobra.Command{Use: "prog"}
	sub := &cobra.Command{Use: "sub", RunE: func(_ *cobra.Command, args []string) error {
		*got = args
		if *gotN < 0 {
			return errors.New("run failed")
		}
		return nil
	}}
	sub.Flags().StringVar(gotTitle, "title", "", "a title")
	sub.Flags().IntVar(gotN, "numa-node", 0, "a node")
	sub.Flags().Bool("dry-run", false, "a switch")
	root.AddCommand(sub)
	return root
}

func TestExecute(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		wantArgs  []string
		wantTitle string
		wantN     int
		usage     bool
		errText   string
	}{
		{args: []string{"sub", "a", "--title", "x", "b"}, wantArgs: []string{"a", "b"}, wantTitle: "x"},
		{args: []string{"sub", "-title", "-dry-run", "-dry-run"}, wantTitle: "-dry-run"}, // a value stays as given
		{args: []string{"sub", "-title=t", "-numa-node", "-1"}, wantTitle: "t", wantN: -1, errText: "run failed"},
		{args: []string{"sub", "--", "-title"}, wantArgs: []string{"-title"}},
		{args: []string{"sub", "--titel", "x"}, usage: true, errText: "unknown flag: --titel (did you mean --title?)"},
		{args: []string{"sub", "-dryrun"}, usage: true, errText: "unknown flag: --dryrun (did you mean --dry-run?)"},
		{args: []string{"sub", "--zzzzzz"}, usage: true, errText: "unknown flag: --zzzzzz"},
		{args: []string{"sub", "--numa-node", "x"}, usage: true, errText: `invalid argument "x" for "--numa-node"`},
	} {
		var got []string
		var title string
		var n int
		root := testRoot(&got, &title, &n)
		var out, errb bytes.Buffer
		Setup(root, &out, &errb, "prog version 1")
		c, err := Execute(context.Background(), root, tc.args)
		if tc.errText == "" && err != nil || tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.errText)
			continue
		}
		if IsUsage(err) != tc.usage {
			t.Errorf("%v: usage error %v, want %v", tc.args, IsUsage(err), tc.usage)
		}
		if err != nil && strings.Contains(tc.errText, "did you mean") != strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%v: suggestion in %q", tc.args, err)
		}
		if !tc.usage && (!slices.Equal(got, tc.wantArgs) || title != tc.wantTitle || n != tc.wantN) {
			t.Errorf("%v: args %q title %q n %d", tc.args, got, title, n)
		}
		if err != nil {
			var rep bytes.Buffer
			Report(&rep, c, err)
			lines := strings.Split(strings.TrimSpace(rep.String()), "\n")
			if !strings.HasPrefix(lines[0], "prog: ") || tc.usage != (len(lines) == 2 && lines[1] == "Run 'prog sub -h' for usage.") {
				t.Errorf("%v: report %q", tc.args, rep.String())
			}
		}
	}
}

func TestVersion(t *testing.T) {
	var got []string
	var title string
	var n int
	root := testRoot(&got, &title, &n)
	var out bytes.Buffer
	Setup(root, &out, &out, "prog version 1")
	if _, err := Execute(context.Background(), root, []string{"--version"}); err != nil || out.String() != "prog version 1\n" {
		t.Errorf("--version: %v %q", err, out.String())
	}
}
