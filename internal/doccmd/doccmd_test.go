package doccmd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestFindIn(t *testing.T) {
	md := "Run `go run ./cmd/runner suites`, `runner start --suite scaling --cores 8,16\n--dry-run` or `runner`\n" +
		"(a mention), never `cmd -> runner`.\n\n" +
		"```sh\n" +
		"export DOCKER_HOST=ssh://a@b\n" +
		"SERVEBENCH_CORES=4 bin/runner start --suite smoke \\\n  --results r   # a comment\n" +
		"make sim-image && docker run --rm --network host servebench/vllm-sim:dev --port 8000 | tee log 2>&1\n" +
		"runner report RUN [--svg-dir DIR] FILE... --title 'a b' > out.txt\n" +
		"runner start --suite <suite>\n" +
		"docker run --entrypoint vllm servebench/vllm-sim:dev bench throughput\n" +
		"```\n\n```yaml\nrunner: not a command\n```\n" +
		"`exporter --web.listen-address=1.2.3.4:9465` and `obsgen --root .`\n"
	var got []string
	for _, c := range findIn("x.md", md) {
		got = append(got, fmt.Sprintf("%d %s %q %v", c.Line, c.Program, c.Args, c.Env))
	}
	want := []string{
		`1 runner ["suites"] map[]`,
		`1 runner ["start" "--suite" "scaling" "--cores" "8,16" "--dry-run"] map[]`,
		`7 runner ["start" "--suite" "smoke" "--results" "r"] map[DOCKER_HOST:ssh://a@b SERVEBENCH_CORES:4]`,
		`9 vllm-sim ["--port" "8000"] map[DOCKER_HOST:ssh://a@b]`,
		`10 runner ["report" "RUN" "--svg-dir" "DIR" "FILE" "--title" "a b"] map[DOCKER_HOST:ssh://a@b]`,
		`11 runner ["start" "--suite" "<suite>"] map[DOCKER_HOST:ssh://a@b]`,
		`18 exporter ["--web.listen-address=1.2.3.4:9465"] map[]`,
		`18 obsgen ["--root" "."] map[]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFindRepository(t *testing.T) {
	cmds, err := Find("../..")
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, c := range cmds {
		per[c.Program]++
	}
	if per["runner"] < 50 || per["vllm-sim"] < 3 || per["exporter"] < 1 {
		t.Errorf("commands per program: %v", per)
	}
}

func TestHelpForm(t *testing.T) {
	root := &cobra.Command{Use: "runner"}
	sub := &cobra.Command{Use: "bench", Run: func(*cobra.Command, []string) {}}
	sub.Flags().Int("repeat", 1, "")
	sub.Flags().String("push.url", "", "")
	sub.Flags().Bool("json", false, "")
	root.AddCommand(sub)
	for _, tc := range []struct{ args, want []string }{
		{[]string{"bench", "--repeat", "N", "RUN"}, []string{"bench", "--repeat", "1", "RUN", "-h"}},
		{[]string{"bench", "--push.url"}, []string{"bench", "--push.url", "x", "-h"}},
		{[]string{"bench", "--json"}, []string{"bench", "--json", "-h"}},
		{[]string{"bench", "--push.url", "URL"}, []string{"bench", "--push.url", "URL", "-h"}},
	} {
		if got := (Command{Args: tc.args}).HelpForm(root); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q: got %q, want %q", tc.args, got, tc.want)
		}
	}
}
