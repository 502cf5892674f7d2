package rank

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/compare/comparetest"
)

// scalingRun writes a scaling run: 4, 8 and 16 cores, each at 1, 4 and 8
// streams. At 4 cores every level's ITL p99 breaks 100 ms; at 8 cores
// concurrent-8 does; at 16 cores concurrent-8 would be the fastest of all
// but its load generator was late (invalid).
func scalingRun(t *testing.T) []compare.Cell {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	type lv struct {
		conc        int
		ttft, itl   float64
		clientBound bool
	}
	plan := map[int][]lv{
		4:  {{1, 400, 70, false}, {4, 500, 80, false}, {8, 700, 100, false}},
		8:  {{1, 200, 40, false}, {4, 300, 50, false}, {8, 500, 75, false}},
		16: {{1, 100, 20, false}, {4, 150, 22, false}, {8, 200, 30, true}},
	}
	for _, cores := range []int{4, 8, 16} {
		var bs []comparetest.Bench
		for i, l := range plan[cores] {
			bs = append(bs, comparetest.Bench{Seed: uint64(cores*10 + i), N: 400, Level: "concurrent-" + strconv.Itoa(l.conc), Conc: l.conc,
				TTFTMs: l.ttft, ITLMs: l.itl, Cores: cores, Invalid: l.clientBound})
		}
		if err := comparetest.WriteCell(filepath.Join(dir, "c"+strconv.Itoa(cores)), bs...); err != nil {
			t.Fatal(err)
		}
	}
	cells, err := compare.Loader{}.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cells
}

func slo(t *testing.T, specs ...string) []Objective {
	t.Helper()
	var out []Objective
	for _, s := range specs {
		o, err := ParseObjective(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func TestRankPicksTheBestValidLevelMeetingTheSLO(t *testing.T) {
	res, err := Rank(scalingRun(t), Options{SLO: slo(t, "ttft_p99<=1s", "itl_p99<=100ms"), CoreHourPrice: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]Row{}
	for _, r := range res.Rows {
		rows[r.Cell] = r
	}
	if res.Best == nil || res.Best.Cell != "c16" || res.Best.Level != "concurrent-4" || res.Best.Rank != 1 {
		t.Fatalf("best %+v", res.Best)
	}
	if r := rows["c8"]; r.Rank != 2 || r.Level != "concurrent-4" || r.Figures["itl_p99"] > 100 {
		t.Errorf("8 cores: %+v", r)
	}
	if r := rows["c4"]; r.Rank != 0 || r.Level != "" || !strings.Contains(r.Why, "itl_p99") || r.OutputTokensPerSecond != nil {
		t.Errorf("4 cores met nothing, yet: %+v", r)
	}
	// The invalid level is left out, though it would have won.
	if r := rows["c16"]; r.InvalidLevels != 1 || r.ValidLevels != 2 || len(res.Invalid) != 1 || !strings.Contains(res.Invalid[0], "c16 concurrent-8: client-bound") {
		t.Errorf("invalid levels: %+v, %v", r, res.Invalid)
	}
	b := res.Best
	if *b.PerCore != *b.OutputTokensPerSecond/16 {
		t.Errorf("per core %v of %v tok/s on 16 cores", *b.PerCore, *b.OutputTokensPerSecond)
	}
	// 0.05 per core-hour, 16 cores: 0.8 an hour buys 3600 * tok/s tokens.
	if want := 0.8 / (*b.OutputTokensPerSecond * 3600) * 1e6; *b.PricePerMillion < want*0.999 || *b.PricePerMillion > want*1.001 {
		t.Errorf("price per million %v, want %v", *b.PricePerMillion, want)
	}
	// 4 cores met nothing: efficiency is against 8 cores.
	if e := *b.Efficiency; e != *b.PerCore / *rows["c8"].PerCore {
		t.Errorf("efficiency %v", e)
	}
	if e := rows["c8"].Efficiency; e == nil || *e != 1 {
		t.Errorf("the base of the family has efficiency %v", e)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"SLO ttft_p99<=1s, itl_p99<=100ms", "best: c16", "left out as invalid: 1 level(s)", "c4 (4 cores): no valid level meets the SLO"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestRankWithoutAnyMeeting(t *testing.T) {
	res, err := Rank(scalingRun(t), Options{SLO: slo(t, "ttft_p50<=10ms")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Best != nil {
		t.Fatalf("best %+v under an SLO nothing meets", res.Best)
	}
	var buf bytes.Buffer
	WriteText(&buf, res)
	if !strings.Contains(buf.String(), "no configuration meets the SLO") {
		t.Errorf("text:\n%s", buf.String())
	}
	if _, err := Rank(nil, Options{}); err == nil {
		t.Error("no cells: want an error")
	}
	if _, err := Rank(scalingRun(t), Options{By: "speed"}); err == nil || !strings.Contains(err.Error(), "per-core") {
		t.Errorf("bad order: %v", err)
	}
}

func TestRankByThroughput(t *testing.T) {
	res, err := Rank(scalingRun(t), Options{SLO: slo(t, "itl_p99<=100ms"), By: ByThroughput})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(res.Rows); i++ {
		a, b := res.Rows[i-1], res.Rows[i]
		if b.OutputTokensPerSecond != nil && (a.OutputTokensPerSecond == nil || *a.OutputTokensPerSecond < *b.OutputTokensPerSecond) {
			t.Errorf("rows out of throughput order: %s before %s", a.Cell, b.Cell)
		}
	}
}

func TestParseObjective(t *testing.T) {
	o, err := ParseObjective(" ttft_p99 <= 1.5s ")
	if err != nil || o.Metric != "ttft_p99" || o.Max != 1500*time.Millisecond {
		t.Errorf("%+v %v", o, err)
	}
	for _, bad := range []string{"ttft_p98<=1s", "ttft<=1s", "ttft_p99<1s", "ttft_p99<=fast", "ttft_p99<=-1s", "queue_p99<=1s"} {
		if _, err := ParseObjective(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Repetitions of one cell are one configuration, each figure their median.
func TestRankRepetitions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	for i := 1; i <= 3; i++ {
		if err := comparetest.WriteCell(filepath.Join(dir, "c8_r"+strconv.Itoa(i)), comparetest.Bench{Seed: uint64(i), N: 200, RepeatOf: "c8", Repetition: i}); err != nil {
			t.Fatal(err)
		}
	}
	cells, _ := compare.Loader{}.Load(dir)
	res, err := Rank(cells, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0].Cell != "c8" || res.Rows[0].Runs != 3 {
		t.Errorf("rows %+v", res.Rows)
	}
}
