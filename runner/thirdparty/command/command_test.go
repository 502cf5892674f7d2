package command

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/suite"
)

func vars() Vars {
	return Vars{
		URL: "http://127.0.0.1:40001", Endpoint: "http://127.0.0.1:40001/v1/chat/completions", Path: "/v1/chat/completions",
		Model: "m", API: "chat", Profile: "concurrent", Level: "concurrent-4", Concurrency: 4, Duration: 5, Timeout: 600,
		BodyFile: "/r/c/wrk-concurrent-4/body.json", BodiesFile: "/r/c/wrk-concurrent-4/bodies.jsonl", TargetsFile: "/r/c/it's/targets.jsonl",
		Output: "/r/c/wrk-concurrent-4/report.json", Dir: "/r/c/wrk-concurrent-4",
	}
}

// The recipes' command lines, exactly as the shell gets them.
func TestRecipesExpand(t *testing.T) {
	open := vars()
	open.Profile, open.Level, open.Rate, open.Concurrency, open.Duration = "constant", "constant-2.5", 2.5, 0, 2.5
	for _, tc := range []struct {
		recipe string
		v      Vars
		line   string
		report string
	}{
		{"vegeta", open, `trap : INT; vegeta attack -format json -targets '/r/c/it'\''s/targets.jsonl' -rate 2500/1000s -duration 2.5s -timeout 600s -max-body 0 ` +
			`-name 'constant-2.5' -output vegeta.bin; vegeta report -type json -output '/r/c/wrk-concurrent-4/report.json' vegeta.bin && vegeta report -type text vegeta.bin`,
			"/r/c/wrk-concurrent-4/report.json"},
		{"vegeta", vars(), `trap : INT; vegeta attack -format json -targets '/r/c/it'\''s/targets.jsonl' -rate 0 -workers 4 -max-workers 4 -duration 5s -timeout 600s ` +
			`-max-body 0 -name 'concurrent-4' -output vegeta.bin; vegeta report -type json -output '/r/c/wrk-concurrent-4/report.json' vegeta.bin && vegeta report -type text vegeta.bin`,
			"/r/c/wrk-concurrent-4/report.json"},
		{"wrk", vars(), `wrk -t 2 -c 4 -d 5s --timeout 600s -s servebench.lua 'http://127.0.0.1:40001/v1/chat/completions'`, "/r/c/wrk-concurrent-4/report.json"},
		{"ab", vars(), `trap : INT; { ab -l -c 4 -t 5 -s 600 -p '/r/c/wrk-concurrent-4/body.json' -T application/json 'http://127.0.0.1:40001/v1/chat/completions'; echo $? > ab.status; } ` +
			`| tee -i '/r/c/wrk-concurrent-4/report.json'; exit "$(cat ab.status 2>/dev/null || echo 130)"`,
			"/r/c/wrk-concurrent-4/report.json"},
		{"locust", vars(), `trap : INT; { locust -f locustfile.py --headless -u 4 -r 4 -t 5s --stop-timeout 0 --host 'http://127.0.0.1:40001' --only-summary --loglevel WARNING 2>&1; ` +
			`echo $? > locust.status; } | tee -i '/r/c/wrk-concurrent-4/report.json'; exit "$(cat locust.status 2>/dev/null || echo 130)"`,
			"/r/c/wrk-concurrent-4/report.json"},
	} {
		s, err := Lookup(tc.recipe)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", tc.recipe, err)
		}
		e, err := Expand(s, tc.v)
		if err != nil {
			t.Fatalf("%s: %v", tc.recipe, err)
		}
		if e.Line != tc.line || e.Report != tc.report {
			t.Errorf("%s\n got %s\nwant %s\nreport %s, want %s", tc.recipe, e.Line, tc.line, e.Report, tc.report)
		}
	}
}

func TestRecipeFiles(t *testing.T) {
	v := vars()
	v.BodiesFile = `/r/"q"/bodies.jsonl`
	e, err := Expand(Recipes["wrk"], v)
	if err != nil {
		t.Fatal(err)
	}
	lua := e.Files["servebench.lua"]
	if !strings.Contains(lua, `io.open("/r/\"q\"/bodies.jsonl", "r")`) || !strings.Contains(lua, `io.open("/r/c/wrk-concurrent-4/report.json", "w")`) {
		t.Errorf("lua script:\n%s", lua)
	}
	e, err = Expand(Recipes["locust"], v)
	if err != nil {
		t.Fatal(err)
	}
	py := e.Files["locustfile.py"]
	if !strings.Contains(py, `with open("/r/\"q\"/bodies.jsonl", "rb")`) || !strings.Contains(py, `self.client.post("/v1/chat/completions", data=next(_bodies), headers={"Content-Type": "application/json"}, timeout=600)`) {
		t.Errorf("locustfile:\n%s", py)
	}
}

func TestValidate(t *testing.T) {
	ok := Spec{Name: "mytool", Run: "mytool --url {{.Endpoint}} -d {{secs .Duration}}"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mut  func(*Spec)
		want string
	}{
		{func(s *Spec) { s.Name = "my tool" }, `command: name "my tool": want a plain word (it labels the load generator)`},
		{func(s *Spec) { s.Run = " " }, "command: run: the command line is empty"},
		{func(s *Spec) { s.Report = "k6" }, `command: report "k6": want one of vegeta, wrk, ab, locust, or none`},
		{func(s *Spec) { s.Profiles = []string{"ramp"} }, `command: profiles: "ramp" is not one of synchronous, concurrent, throughput, constant, poisson`},
		{func(s *Spec) { s.Run = "mytool {{.Url}}" }, `command: template run: template: run:1:9: executing "run" at <.Url>: can't evaluate field Url in type command.Vars`},
		{func(s *Spec) { s.Run = "mytool {{.URL" }, `command: template run: template: run:1: unclosed action`},
	} {
		s := ok
		tc.mut(&s)
		if err := s.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v\nwant %s", err, tc.want)
		}
	}
	if _, err := Lookup("k6"); err == nil || err.Error() != `command: no recipe "k6" (recipes: ab, locust, vegeta, wrk)` {
		t.Errorf("lookup: %v", err)
	}
}

func TestWriteRequests(t *testing.T) {
	dir := t.TempDir()
	v := vars()
	bodies := [][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`)}
	if err := WriteRequests(dir, &v, bodies); err != nil {
		t.Fatal(err)
	}
	one, _ := os.ReadFile(v.BodyFile)
	all, _ := os.ReadFile(v.BodiesFile)
	targets, _ := os.ReadFile(v.TargetsFile)
	if string(one) != `{"a":1}` || string(all) != "{\"a\":1}\n{\"b\":2}\n" || filepath.Dir(v.TargetsFile) != dir {
		t.Errorf("body %q bodies %q", one, all)
	}
	lines := strings.Split(strings.TrimSpace(string(targets)), "\n")
	var tg struct {
		Method, URL, Body string
		Header            map[string][]string
	}
	if err := json.Unmarshal([]byte(lines[1]), &tg); err != nil || len(lines) != 2 {
		t.Fatal(err, lines)
	}
	body, _ := base64.StdEncoding.DecodeString(tg.Body)
	if tg.Method != "POST" || tg.URL != v.Endpoint || string(body) != `{"b":2}` || tg.Header["Content-Type"][0] != "application/json" {
		t.Errorf("target %+v body %s", tg, body)
	}
}

// Reports recorded from the real tools against the engine simulator.
func TestParseRecordedReports(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		parser, file       string
		total, ok          int
		rate               float64
		span               time.Duration
		start              string
		wantRateWithin1pct bool
	}{
		// vegeta: 10 requests, all 200; throughput 3.443 over earliest..end.
		{"vegeta", "vegeta-constant-4.json", 10, 10, 3.4432390966676554, 2904242116, "2026-12-06T21:27:59.357264075Z", false},
		{"vegeta", "vegeta-404.json", 20, 0, 0, 0, "", false},
		// wrk: 8 responses in 3.045078 s.
		{"wrk", "wrk-c2.json", 8, 8, 8 / 3.045078, 3045078 * time.Microsecond, "", false},
		// ab: 5 complete in 2.078 s; 3346 404s.
		{"ab", "ab-c2.txt", 5, 5, 5 / 2.078, 2078 * ms, "", false},
		{"ab", "ab-404.txt", 3346, 0, 0, 1000 * ms, "", false},
		// locust: its printed summary, 6 requests at 4.15 req/s.
		{"locust", "locust-u2.txt", 6, 6, 4.15, 0, "", true},
	} {
		data, err := os.ReadFile("testdata/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(tc.parser, data, vars())
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if c.Tool != tc.parser || !c.HasTotal || !c.HasSuccessful || c.Total != tc.total || c.Successful != tc.ok {
			t.Errorf("%s: %+v, want %d total %d ok", tc.file, c, tc.total, tc.ok)
		}
		switch {
		case tc.wantRateWithin1pct:
			if c.Rate < tc.rate*0.99 || c.Rate > tc.rate*1.01 {
				t.Errorf("%s: rate %v, want %v", tc.file, c.Rate, tc.rate)
			}
		case c.Rate != tc.rate || (tc.span != 0 && c.RateSpan != tc.span):
			t.Errorf("%s: rate %v over %v, want %v over %v", tc.file, c.Rate, c.RateSpan, tc.rate, tc.span)
		}
		if tc.start != "" && c.RateStart.Format(time.RFC3339Nano) != tc.start {
			t.Errorf("%s: rate start %v", tc.file, c.RateStart)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range []struct{ parser, data, want string }{
		{"vegeta", `{"latencies":{}}`, "vegeta report: no requests or success field"},
		{"vegeta", `not json`, "vegeta report: invalid character 'o' in literal null (expecting 'u')"},
		{"wrk", ``, "wrk report: unexpected end of JSON input"},
		{"ab", "Benchmarking 127.0.0.1 (be patient)\n", `ab report: no "Complete requests:" line (did ab finish?)`},
		{"locust", "[2026-12-06 22:29:48] WARNING/locust.main: Starting Locust\n", `locust report: no "Aggregated" row of request statistics (did locust finish?)`},
		{"locust", "         Aggregated     480    480    490    6\n", `locust report: no "Aggregated" row of request statistics (did locust finish?)`},
		{"k6", "", "no report parser \"k6\" (parsers: vegeta, wrk, ab, locust)"},
	} {
		if _, err := Parse(tc.parser, []byte(tc.data), vars()); err == nil || err.Error() != tc.want {
			t.Errorf("%s %q: %v\nwant %s", tc.parser, tc.data, err, tc.want)
		}
	}
}

// A suite's command block: a recipe with fields replaced, or a line of the
// user's, named "command" unless named.
func TestFromSuite(t *testing.T) {
	s, err := FromSuite(suite.Command{Recipe: "wrk", Run: "wrk -c {{.Concurrency}} {{q .Endpoint}}", Profiles: []string{"concurrent"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "wrk" || s.Tool != "wrk" || s.Report != "wrk" || !s.Abandons || s.Run != "wrk -c {{.Concurrency}} {{q .Endpoint}}" ||
		len(s.Profiles) != 1 || s.Files["servebench.lua"] == "" {
		t.Errorf("wrk with its own line: %+v", s)
	}
	if s, err = FromSuite(*suite.CommandOf("hey -c {{.Concurrency}} {{q .Endpoint}}")); err != nil || s.Name != "command" || s.Report != "" {
		t.Errorf("a line: %+v %v", s, err)
	}
	if _, err := FromSuite(*suite.CommandOf("k6")); err == nil || err.Error() != `command: no recipe "k6" (recipes: ab, locust, vegeta, wrk)` {
		t.Errorf("unknown recipe: %v", err)
	}
	if _, err := FromSuite(suite.Command{Run: "x {{.Nope}}"}); err == nil || !strings.Contains(err.Error(), "can't evaluate field Nope") {
		t.Errorf("bad template: %v", err)
	}
}
