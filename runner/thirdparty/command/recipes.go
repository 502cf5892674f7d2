package command

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/servebench/servebench/runner/suite"
)

// Recipes are the shipped, tested commands, by name: runner start
// --loadgen command --command vegeta, or a suite's command: {recipe: vegeta}.
var Recipes = map[string]Spec{
	"vegeta": {
		Name: "vegeta", Tool: "vegeta", Report: "vegeta",
		Profiles: []string{"constant", "synchronous", "concurrent", "throughput"},
		// An open loop at the level's rate, or a closed loop of as many
		// workers as streams (-rate 0); the attack waits for its answers
		// (-timeout), keeps no bodies, and its results become the JSON
		// report even when it is interrupted (trap : INT keeps the shell).
		Run: `trap : INT; vegeta attack -format json -targets {{q .TargetsFile}} ` +
			`{{if .Rate}}-rate {{per .Rate}}{{else}}-rate 0 -workers {{.Concurrency}} -max-workers {{.Concurrency}}{{end}} ` +
			`-duration {{.Duration}}s -timeout {{secs .Timeout}}s -max-body 0 -name {{q .Level}} -output vegeta.bin; ` +
			`vegeta report -type json -output {{q .Output}} vegeta.bin && vegeta report -type text vegeta.bin`,
		Version: `go version -m "$(command -v vegeta)" 2>/dev/null | awk '$1 == "mod" { sub(/^v/, "", $3); print $3 }'; ` +
			`vegeta -version 2>/dev/null | sed -n 's/^Version: *v\{0,1\}//p'`,
	},
	"wrk": {
		Name: "wrk", Tool: "wrk", Report: "wrk", Abandons: true,
		Profiles: []string{"synchronous", "concurrent", "throughput"},
		// A closed loop: one connection per stream on at most two threads;
		// the Lua script posts the cell's bodies in turn and writes wrk's
		// summary as JSON. wrk takes whole seconds.
		Run:     `wrk -t {{min .Concurrency 2}} -c {{.Concurrency}} -d {{secs .Duration}}s --timeout {{secs .Timeout}}s -s servebench.lua {{q .Endpoint}}`,
		Files:   map[string]string{"servebench.lua": wrkScript},
		Version: `wrk -v 2>&1 | head -n 1`,
	},
	"ab": {
		Name: "ab", Tool: "ab", Report: "ab", Abandons: true,
		Profiles: []string{"synchronous", "concurrent", "throughput"},
		// A closed loop of -c streams for whole seconds (-t implies at most
		// 50,000 requests), every request the cell's first body; -l takes
		// the answers' varying lengths as the norm. Its text report is
		// kept as it prints (tee -i survives the interrupt), and ab's exit
		// status is the command's.
		Run: `trap : INT; { ab -l -c {{.Concurrency}} -t {{secs .Duration}} -s {{secs .Timeout}} -p {{q .BodyFile}} -T application/json ` +
			`{{q .Endpoint}}; echo $? > ab.status; } | tee -i {{q .Output}}; exit "$(cat ab.status 2>/dev/null || echo 130)"`,
		Version: `ab -V 2>&1 | head -n 1`,
	},
	"locust": {
		Name: "locust", Tool: "locust", Report: "locust", Abandons: true,
		Profiles: []string{"synchronous", "concurrent", "throughput"},
		// Headless: as many users as streams, each posting the cell's
		// bodies back to back. The report is the final summary Locust
		// prints (its CSV files are written every few seconds and can miss
		// the last requests); Locust's exit status is the command's.
		Run: `trap : INT; { locust -f locustfile.py --headless -u {{.Concurrency}} -r {{.Concurrency}} -t {{secs .Duration}}s --stop-timeout 0 ` +
			`--host {{q .URL}} --only-summary --loglevel WARNING 2>&1; echo $? > locust.status; } | tee -i {{q .Output}}; ` +
			`exit "$(cat locust.status 2>/dev/null || echo 130)"`,
		Files: map[string]string{"locustfile.py": locustfile},
		Version: `v=$(locust --version 2>/dev/null | awk '{print $2}'); ` +
			`if [ -n "$v" ] && [ "$v" != 0.0.0 ]; then echo "$v"; else dpkg-query -W -f '${Version}\n' python3-locust 2>/dev/null; fi`,
	},
}

// Lookup returns a recipe by name.
func Lookup(name string) (Spec, error) {
	s, ok := Recipes[name]
	if !ok {
		return Spec{}, specError{fmt.Errorf("command: no recipe %q (recipes: %s)", name, strings.Join(RecipeNames(), ", "))}
	}
	return s, nil
}

// RecipeNames lists the recipes, sorted.
func RecipeNames() []string { return slices.Sorted(maps.Keys(Recipes)) }

// wrkScript posts the bodies in turn (each thread from its own position)
// and writes wrk's summary as one JSON line to the report path.
const wrkScript = `-- servebench: POST the cell's request bodies in turn; the summary as JSON.
local bodies, n = {}, 0

function init(args)
  local f = assert(io.open({{lua .BodiesFile}}, "r"))
  for line in f:lines() do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
  f:close()
end

function request()
  n = n + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, bodies[(n - 1) % #bodies + 1])
end

function done(summary, latency, requests)
  local e = summary.errors
  local f = assert(io.open({{lua .Output}}, "w"))
  f:write(string.format('{"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))
  f:close()
end
`

// locustfile is one user class posting the bodies back to back.
const locustfile = `# servebench: POST the cell's request bodies back to back, one user per stream.
import itertools

from locust import HttpUser, constant, task

with open({{lua .BodiesFile}}, "rb") as f:
    _bodies = itertools.cycle([line.strip() for line in f if line.strip()])


class Servebench(HttpUser):
    wait_time = constant(0)

    @task
    def post(self):
        self.client.post({{lua .Path}}, data=next(_bodies), headers={"Content-Type": "application/json"}, timeout={{.Timeout}})
`

// FromSuite is the spec a suite's (or --command's) command block names: its
// recipe, if any, with every field the block sets replacing the recipe's;
// validated. A block without a recipe or a name is named "command".
func FromSuite(c suite.Command) (Spec, error) {
	var s Spec
	if c.Recipe != "" {
		var err error
		if s, err = Lookup(c.Recipe); err != nil {
			return s, err
		}
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&s.Name, c.Name)
	set(&s.Tool, c.Tool)
	set(&s.Run, c.Run)
	set(&s.Version, c.Version)
	set(&s.Report, c.Report)
	set(&s.ReportFile, c.ReportFile)
	if c.Profiles != nil {
		s.Profiles = slices.Clone(c.Profiles)
	}
	if c.Files != nil {
		s.Files = maps.Clone(c.Files)
	}
	s.Abandons = s.Abandons || c.Abandons
	if s.Name == "" {
		s.Name = suite.LoadgenCommand
	}
	return s, s.Validate()
}
