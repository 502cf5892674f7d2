package suite

import (
	"strings"
	"testing"
)

func plan(t *testing.T, name string, flags Overrides) *Plan {
	t.Helper()
	s, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Resolve(s, Overrides{}, flags)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanConcurrentLoad(t *testing.T) {
	p := plan(t, "concurrent-load", Overrides{})
	// 5 models x 4 workloads x 3 cores x 3 phases = 180 cells. Skipped:
	// baseline: rag on TinyLlama (2048) and granite (4096), summarization
	// (2304) on TinyLlama -> 9; variable and production each: rag has no
	// _var (15), code_var (4096) and summarization_var (2560) on TinyLlama (6) -> 21.
	if got, want := len(p.Cells)+len(p.Skipped), 180; got != want {
		t.Fatalf("cells+skipped = %d, want %d", got, want)
	}
	if got, want := len(p.Skipped), 9+21+21; got != want {
		t.Errorf("skipped = %d, want %d", got, want)
		for _, c := range p.Skipped {
			t.Log(c.ID, c.Skip)
		}
	}
	if p.Benchmarks() != len(p.Cells)*6 {
		t.Errorf("benchmarks = %d, want 6 per cell", p.Benchmarks())
	}
	reasons := map[string]string{}
	for _, c := range p.Skipped {
		reasons[c.ID] = c.Skip
	}
	for id, want := range map[string]string{
		"TinyLlama__TinyLlama-1.1B-Chat-v1.0_rag_baseline_8c":        "workload rag needs 8192 tokens of context (prompt up to 7680 + output up to 512); TinyLlama/TinyLlama-1.1B-Chat-v1.0 has 2048",
		"ibm-granite__granite-3.2-2b-instruct_rag_baseline_32c":      "workload rag needs 8192 tokens of context (prompt up to 7680 + output up to 512); ibm-granite/granite-3.2-2b-instruct has 4096",
		"Qwen__Qwen3-0.6B_rag_var_variable_16c":                      "workload rag has no _var variant for phase variable",
		"TinyLlama__TinyLlama-1.1B-Chat-v1.0_code_var_production_8c": "workload code_var needs 4096 tokens of context (prompt up to 2048 + output up to 2048); TinyLlama/TinyLlama-1.1B-Chat-v1.0 has 2048",
	} {
		if reasons[id] != want {
			t.Errorf("skip %s = %q, want %q", id, reasons[id], want)
		}
	}
	// Ordering: indexes are 1..N, core counts ascend within a workload, and
	// phase 3 turns prefix caching on.
	for i, c := range p.Cells {
		if c.Index != i+1 {
			t.Fatalf("cell %d has index %d", i, c.Index)
		}
	}
	first := p.Cells[0]
	if first.ID != "meta-llama__Llama-3.2-1B-Instruct_chat_baseline_8c" || p.Cells[1].Cores != 16 || first.MaxModelLen != 2048 || first.API != "chat" {
		t.Errorf("first cells: %+v %+v", first, p.Cells[1])
	}
	for _, c := range p.Cells {
		if (c.Phase == "production") != c.PrefixCaching {
			t.Errorf("%s: prefix caching %v in phase %s", c.ID, c.PrefixCaching, c.Phase)
		}
	}
}

func TestPlanScalingLevels(t *testing.T) {
	p := plan(t, "scaling", Overrides{Cores: []int{1, 2}})
	if len(p.Cells) != 2 {
		t.Fatalf("cells = %d", len(p.Cells))
	}
	var names []string
	for _, l := range p.Cells[0].Levels {
		names = append(names, l.Name)
	}
	if got, want := strings.Join(names, " "), "throughput-64 poisson-25pct poisson-50pct poisson-75pct poisson-100pct"; got != want {
		t.Errorf("levels = %s, want %s", got, want)
	}
	l := p.Cells[0].Levels
	if !l[0].FindsMax {
		t.Error("first level must find the maximum")
	}
	if r, err := l[2].Resolve(10); err != nil || r != 5 {
		t.Errorf("50%% of 10 = %g, %v", r, err)
	}
	if _, err := l[2].Resolve(0); err == nil || err.Error() != "level poisson-50pct: no maximum rate was found before it" {
		t.Errorf("fraction of nothing: %v", err)
	}
	if r, _ := l[0].Resolve(0); r != 64 {
		t.Errorf("fixed level resolved to %g", r)
	}
}

func TestPlanExternalAndContention(t *testing.T) {
	p := plan(t, "smoke", Overrides{Engine: ptr("external"), Target: ptr("http://127.0.0.1:8000"), Cores: []int{4, 8}})
	if len(p.Cells) != 1 || p.Cells[0].Cores != 0 || p.Cells[0].ID != "Qwen__Qwen3-0.6B_chat_lite" {
		t.Errorf("external engine must collapse core counts: %+v", p.Cells)
	}
	p = plan(t, "contention", Overrides{})
	var ids []string
	for _, c := range p.Cells {
		ids = append(ids, c.Variant)
	}
	if got := strings.Join(ids, ","); got != "isolated,cpu-neighbour,membw-neighbour,instances" {
		t.Errorf("variants = %s", got)
	}
	p = plan(t, "embedding", Overrides{Models: []string{"sentence-transformers/all-MiniLM-L6-v2", "Qwen/Qwen3-0.6B"}})
	if len(p.Skipped) != 3 || p.Skipped[0].Skip != "Qwen/Qwen3-0.6B generates text; workload embedding needs an embedding model" {
		t.Errorf("skipped = %+v", p.Skipped)
	}
}

func TestPlanDuplicateCell(t *testing.T) {
	s, _ := Builtin("smoke")
	c, err := Resolve(s, Overrides{}, Overrides{Cores: []int{2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPlan(c); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("duplicate cores: %v", err)
	}
}

func TestPlanUnknownModelIsNotSkipped(t *testing.T) {
	p := plan(t, "smoke", Overrides{Models: []string{"my-org/my-model"}})
	if len(p.Cells) != 1 || p.Cells[0].MaxModelLen != 2048 {
		t.Errorf("unknown model: %+v %+v", p.Cells, p.Skipped)
	}
}

func TestPlanPhases(t *testing.T) {
	p := plan(t, "concurrent-load", Overrides{Phases: []string{"baseline"}})
	if len(p.Cells) != 51 || len(p.Skipped) != 9 {
		t.Errorf("baseline only: %d cells, %d skipped", len(p.Cells), len(p.Skipped))
	}
	s, _ := Builtin("concurrent-load")
	if _, err := Resolve(s, Overrides{}, Overrides{Phases: []string{"nightly"}}); err == nil ||
		err.Error() != `phases: suite concurrent-load has no phase "nightly" (phases: baseline, variable, production)` {
		t.Errorf("unknown phase: %v", err)
	}
	s, _ = Builtin("smoke")
	if _, err := Resolve(s, Overrides{}, Overrides{Phases: []string{"baseline"}}); err == nil || err.Error() != "phases: suite smoke has no phases" {
		t.Errorf("phases of a suite without: %v", err)
	}
}

func TestPlanRepeat(t *testing.T) {
	n := 3
	p := plan(t, "smoke", Overrides{Repeat: &n})
	once := plan(t, "smoke", Overrides{})
	if len(p.Cells) != 3*len(once.Cells) {
		t.Fatalf("%d cells repeated 3 times gave %d", len(once.Cells), len(p.Cells))
	}
	for i, c := range p.Cells {
		base := once.Cells[i/3]
		want := base.ID + "_r" + string(rune('1'+i%3))
		if c.ID != want || c.BaseID != base.ID || c.Repetition != i%3+1 || c.Index != i+1 || len(c.Levels) != len(base.Levels) {
			t.Errorf("cell %d: %s base %s repetition %d index %d; want %s", i, c.ID, c.BaseID, c.Repetition, c.Index, want)
		}
	}
	if once.Cells[0].Repetition != 0 || once.Cells[0].BaseID != once.Cells[0].ID {
		t.Errorf("unrepeated cell %+v", once.Cells[0])
	}
	if _, err := FromEnv(func(k string) string { return map[string]string{"SERVEBENCH_REPEAT": "0"}[k] }); err == nil || !strings.Contains(err.Error(), "SERVEBENCH_REPEAT") {
		t.Errorf("a zero env count: %v", err)
	}
	o, err := FromEnv(func(k string) string {
		if k == "SERVEBENCH_REPEAT" {
			return "4"
		}
		return ""
	})
	if err != nil || o.Repeat == nil || *o.Repeat != 4 {
		t.Errorf("SERVEBENCH_REPEAT=4: %v %v", o.Repeat, err)
	}
}

// An offline suite's cells: model × use case × the use case's own core
// counts, each repeated its runs, one batch level each; --repeat wins over
// runs, and a model that generates no text is skipped.
func TestOfflinePlan(t *testing.T) {
	s, err := Builtin("offline-batch")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Resolve(s, Overrides{}, Overrides{Models: []string{"Qwen/Qwen3-0.6B", "sentence-transformers/all-MiniLM-L6-v2"}, Workloads: []string{"etl", "rag_batch"}, Engine: ptr("sim")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(c)
	if err != nil {
		t.Fatal(err)
	}
	// etl on 8, 16, 24, 32 cores and rag_batch on the suite's 16, three runs each.
	if len(p.Cells) != 15 || len(p.Skipped) != 5 {
		t.Fatalf("%d cells, %d skipped", len(p.Cells), len(p.Skipped))
	}
	first := p.Cells[0]
	if first.ID != "Qwen__Qwen3-0.6B_etl_8c_r1" || first.API != APIOffline || len(first.Levels) != 1 || first.Levels[0].Profile != "offline" ||
		first.MaxModelLen != 2048 || first.PrefixCaching {
		t.Errorf("first cell %+v", first)
	}
	if rag := p.Cells[12]; rag.Workload != "rag_batch" || rag.Cores != 16 || rag.MaxModelLen != 2176 {
		t.Errorf("rag_batch cell %+v", rag)
	}
	one := 1
	c, _ = Resolve(s, Overrides{}, Overrides{Models: []string{"Qwen/Qwen3-0.6B"}, Workloads: []string{"rag_batch"}, Repeat: &one})
	if p, _ := NewPlan(c); len(p.Cells) != 1 || p.Cells[0].ID != "Qwen__Qwen3-0.6B_rag_batch_16c" {
		t.Errorf("--repeat 1: %+v", p.Cells)
	}
	if _, err := Resolve(s, Overrides{}, Overrides{Engine: ptr("external"), Target: ptr("http://x")}); err == nil || !strings.Contains(err.Error(), "runs the engine itself") {
		t.Errorf("external engine: %v", err)
	}
}
