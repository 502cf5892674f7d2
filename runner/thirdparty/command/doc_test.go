package command

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/internal/doctable"
)

var update = flag.Bool("update", false, "rewrite the recipes in docs/suites.md")

const (
	recipesBegin = "<!-- BEGIN RECIPES (go test ./runner/thirdparty/command -run TestRecipesDocumented -update) -->\n"
	recipesEnd   = "<!-- END RECIPES -->"
)

// docs/suites.md shows every recipe's command line as it runs; -update
// rewrites them.
func TestRecipesDocumented(t *testing.T) {
	dir := "<cell>/NAME-LEVEL"
	v := Vars{URL: "http://127.0.0.1:PORT", Path: "/v1/chat/completions", Endpoint: "http://127.0.0.1:PORT/v1/chat/completions",
		Model: "Qwen/Qwen3-0.6B", API: "chat", Profile: "concurrent", Level: "concurrent-4", Concurrency: 4, Duration: 5, Timeout: 600}
	var b strings.Builder
	for _, name := range RecipeNames() {
		lv := v
		if name == "vegeta" {
			lv.Profile, lv.Level, lv.Concurrency, lv.Rate = "constant", "constant-2.5", 0, 2.5
		}
		d := strings.NewReplacer("NAME", name, "LEVEL", lv.Level).Replace(dir)
		lv.Dir, lv.Output = d, d+"/report"
		lv.BodyFile, lv.BodiesFile, lv.TargetsFile = d+"/"+RequestFiles[0], d+"/"+RequestFiles[1], d+"/"+RequestFiles[2]
		e, err := Expand(Recipes[name], lv)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:\n\n```sh\n%s\n```\n\n", name, e.Line)
	}
	path := filepath.Join("..", "..", "..", "docs", "suites.md")
	if *update {
		if err := doctable.Replace(path, recipesBegin, recipesEnd, b.String()); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := doctable.Between(doc, recipesBegin, recipesEnd)
	if err != nil {
		t.Fatal(err)
	}
	if got != b.String() {
		t.Errorf("docs/suites.md's recipes are stale (go test ./runner/thirdparty/command -run TestRecipesDocumented -update):\n%s", b.String())
	}
}
