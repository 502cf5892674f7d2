package suite

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Plan is the ordered list of cells a run executes, and the cells it skips.
type Plan struct {
	Config  Config
	Cells   []Cell // runnable, in execution order; Index is 1-based
	Skipped []Cell // never run; Skip says why
}

// Cell is one engine configuration: the engine is started once per cell and
// every load level of the cell runs against it.
type Cell struct {
	Index         int    // 1-based position among runnable cells
	ID            string // directory name under the run, unique within the plan
	Model         string
	Workload      string // the workload run (phase suffix applied)
	BaseWorkload  string // the workload as listed in the suite
	Phase         string // "" when the suite has no phases
	PrefixCaching bool
	Cores         int    // 0 for an external engine (unknown)
	Variant       string // contention variant, "" otherwise
	API           string // chat, completions, embeddings
	MaxModelLen   int    // --max-model-len for the engine, 0 = the engine's default
	Levels        []Level
	Skip          string // why the cell is not run; "" for runnable cells
	// Repetition is this cell's run among Config.Repeat runs of the same
	// configuration (1-based; 0 when cells are not repeated); BaseID is the
	// ID without the "_rN" suffix repetitions carry.
	Repetition int
	BaseID     string
}

// Level is one benchmark (load level) of a cell.
type Level struct {
	Name     string  // label value: concurrent-16, poisson-50pct, throughput-64, synchronous
	Profile  string  // synchronous, concurrent, throughput, constant, poisson
	Value    float64 // streams (closed loop) or req/s (open loop); 0 when Fraction is set
	Fraction float64 // of the cell's maximum rate found by an earlier FindsMax level
	FindsMax bool    // this level's achieved request rate is the cell's maximum
}

// Resolve returns the level's target (streams or req/s) given the maximum
// rate found earlier in the cell; a fraction of an unknown maximum is an
// error.
func (l Level) Resolve(maxRate float64) (float64, error) {
	if l.Fraction == 0 {
		return l.Value, nil
	}
	if maxRate <= 0 {
		return 0, fmt.Errorf("level %s: no maximum rate was found before it", l.Name)
	}
	return l.Fraction * maxRate, nil
}

// Benchmarks is the number of load levels the plan runs.
func (p *Plan) Benchmarks() int {
	n := 0
	for _, c := range p.Cells {
		n += len(c.Levels)
	}
	return n
}

// LevelSlack is what a level may take beyond its budget to cut and record
// the requests still in flight (loadgen.BudgetSlack, kept equal by a test).
const LevelSlack = time.Second

// MaxDuration bounds the time the load levels can take (engine start-ups
// and each cell's prompt preparation not included): every level at its
// budget, max_seconds + drain_timeout_seconds, plus LevelSlack. It is 0
// when levels have no time limit (max_requests only).
func (p *Plan) MaxDuration() time.Duration {
	l := p.Config.Limits.LevelSeconds()
	if l <= 0 {
		return 0
	}
	return time.Duration(p.Benchmarks()) * (time.Duration(l*float64(time.Second)) + LevelSlack)
}

// Budget says what MaxDuration bounds, for the plan's printed summary.
func (p *Plan) Budget() string {
	if p.Config.Suite != nil && p.Config.Suite.Offline() {
		return "each cell runs its batch to the end (vllm bench throughput): no time bound"
	}
	l := p.Config.Limits
	if l.LevelSeconds() <= 0 {
		return "levels end by request count (max_requests): no time bound"
	}
	return fmt.Sprintf("at most %s of load (%d levels × (%gs + %gs drain + %s)), plus engine start-ups",
		p.MaxDuration(), p.Benchmarks(), l.MaxSeconds, l.DrainTimeoutSeconds, LevelSlack)
}

// NewPlan expands a resolved configuration into cells. Order: model, phase,
// workload, cores, contention variant — so one model's cells run together
// and, within a workload, core counts ascend (the scaling report reads them
// in that order).
func NewPlan(c Config) (*Plan, error) {
	p := &Plan{Config: c}
	var phases []Phase
	for _, ph := range c.Suite.Phases {
		if len(c.Phases) == 0 || oneOf(ph.Name, c.Phases) {
			phases = append(phases, ph)
		}
	}
	if len(phases) == 0 {
		phases = []Phase{{}}
	}
	variants := []string{""}
	if c.Suite.Contention != nil {
		variants = c.Suite.Contention.Variants
	}
	cores := c.Cores
	if c.Engine == "external" {
		cores = []int{0} // the engine's cores are not ours to choose
	}
	if c.Suite.Offline() {
		return offlinePlan(c)
	}
	levels := expandLevels(c.Suite.Stages)
	seen := map[string]bool{}
	for _, model := range c.Models {
		m, known := LookupModel(model)
		for _, ph := range phases {
			for _, base := range c.Workloads {
				wname := base + ph.WorkloadSuffix
				w, hasVariant := Workloads[wname]
				for _, n := range cores {
					for _, v := range variants {
						cell := Cell{
							Model: model, Workload: wname, BaseWorkload: base, Phase: ph.Name,
							PrefixCaching: ph.PrefixCaching, Cores: n, Variant: v,
							Levels: append([]Level(nil), levels...),
						}
						cell.ID = cellID(cell)
						cell.BaseID = cell.ID
						if seen[cell.ID] {
							return nil, fmt.Errorf("plan: cell %s appears twice (a model, workload or core count is listed twice)", cell.ID)
						}
						seen[cell.ID] = true
						if !hasVariant {
							cell.Skip = fmt.Sprintf("workload %s has no %s variant for phase %s", base, ph.WorkloadSuffix, ph.Name)
							p.Skipped = append(p.Skipped, cell)
							continue
						}
						cell.API = w.API
						if c.API != "" {
							cell.API = c.API
						}
						cell.MaxModelLen = w.MaxModelLen
						if known {
							if reason := incompatible(m, w); reason != "" {
								cell.Skip = reason
								p.Skipped = append(p.Skipped, cell)
								continue
							}
							if cell.MaxModelLen == 0 || cell.MaxModelLen > m.Context {
								cell.MaxModelLen = m.Context
							}
						}
						// Repetitions run back to back, each its own cell
						// (directory, engine start, summary).
						p.addRepeated(cell, c.Repeat)
					}
				}
			}
		}
	}
	return p, nil
}

// APIOffline is the API of offline cells: vllm bench throughput, no
// server.
const APIOffline = "offline"

// OfflineLevel is an offline cell's one benchmark: the whole batch.
var OfflineLevel = Level{Name: "offline", Profile: "offline"}

// offlinePlan expands an offline suite: model × use case × cores (the use
// case's own, else the run's), each repeated Config.Repeat times; one
// level each, the batch. A use case whose prompts and output cannot fit a
// known model's context is skipped.
func offlinePlan(c Config) (*Plan, error) {
	p := &Plan{Config: c}
	for _, model := range c.Models {
		m, known := LookupModel(model)
		for _, name := range c.Workloads {
			u, _ := c.Suite.UseCase(name)
			cores := c.Cores
			if len(u.Cores) > 0 && c.Engine != "external" {
				cores = u.Cores
			}
			for _, n := range cores {
				cell := Cell{Model: model, Workload: u.Name, BaseWorkload: u.Name, PrefixCaching: u.PrefixCaching, Cores: n,
					API: APIOffline, Levels: []Level{OfflineLevel}}
				cell.ID = cellID(cell)
				cell.BaseID = cell.ID
				// The context the batch needs (ShareGPT's longest kept
				// conversation is 2048 tokens), not the model's whole
				// context, which a CPU KV cache rarely holds.
				need := u.InputLen + u.PrefixLen + u.OutputLen
				cell.MaxModelLen = max(2048, need)
				if known {
					cell.MaxModelLen = min(cell.MaxModelLen, m.Context)
					if m.Embedding || m.Speech {
						cell.Skip = fmt.Sprintf("%s does not generate text; vllm bench throughput needs a generative model", model)
					} else if need > m.Context {
						cell.Skip = fmt.Sprintf("use case %s needs %d tokens of context; %s has %d", u.Name, need, model, m.Context)
					}
				}
				if cell.Skip != "" {
					p.Skipped = append(p.Skipped, cell)
					continue
				}
				p.addRepeated(cell, c.Repeat)
			}
		}
	}
	return p, nil
}

// addRepeated appends a cell, or its repetitions back to back.
func (p *Plan) addRepeated(cell Cell, repeat int) {
	if repeat <= 1 {
		cell.Index = len(p.Cells) + 1
		p.Cells = append(p.Cells, cell)
		return
	}
	for r := 1; r <= repeat; r++ {
		rc := cell
		rc.Levels = append([]Level(nil), cell.Levels...)
		rc.Repetition, rc.ID, rc.Index = r, fmt.Sprintf("%s_r%d", cell.ID, r), len(p.Cells)+1
		p.Cells = append(p.Cells, rc)
	}
}

// incompatible says why a model cannot serve a workload, or "".
func incompatible(m Model, w Workload) string {
	if m.Speech != (w.API == "transcriptions") {
		if m.Speech {
			return fmt.Sprintf("%s transcribes speech; workload %s is not audio", m.ID, w.Name)
		}
		return fmt.Sprintf("%s does not transcribe speech; workload %s is audio", m.ID, w.Name)
	}
	if m.Embedding != (w.API == "embeddings") {
		if m.Embedding {
			return fmt.Sprintf("%s is an embedding model; workload %s generates text", m.ID, w.Name)
		}
		return fmt.Sprintf("%s generates text; workload %s needs an embedding model", m.ID, w.Name)
	}
	need := w.MaxPrompt + w.MaxOutput
	if w.API == "embeddings" {
		need = w.MaxPrompt
	}
	if m.Context > 0 && need > m.Context {
		return fmt.Sprintf("workload %s needs %d tokens of context (prompt up to %d + output up to %d); %s has %d",
			w.Name, need, w.MaxPrompt, w.MaxOutput, m.ID, m.Context)
	}
	return ""
}

func expandLevels(stages []Stage) []Level {
	var out []Level
	for _, st := range stages {
		if st.Profile == "synchronous" && len(st.Levels) == 0 {
			out = append(out, Level{Name: "synchronous", Profile: st.Profile, Value: 1})
			continue
		}
		for _, v := range st.Levels {
			out = append(out, Level{Name: st.Profile + "-" + strconv.FormatFloat(v, 'g', -1, 64), Profile: st.Profile, Value: v, FindsMax: st.FindsMax})
		}
		for _, f := range st.Fractions {
			out = append(out, Level{Name: fmt.Sprintf("%s-%spct", st.Profile, strconv.FormatFloat(f*100, 'g', 4, 64)), Profile: st.Profile, Fraction: f})
		}
	}
	return out
}

// cellID names a cell's directory: model (org__name), workload, cores,
// phase and variant — readable and stable across runs, so --resume and
// comparisons can match cells by name.
func cellID(c Cell) string {
	parts := []string{strings.ReplaceAll(c.Model, "/", "__"), c.Workload}
	if c.Phase != "" {
		parts = append(parts, c.Phase)
	}
	if c.Cores > 0 {
		parts = append(parts, strconv.Itoa(c.Cores)+"c")
	}
	if c.Variant != "" {
		parts = append(parts, c.Variant)
	}
	id := strings.Join(parts, "_")
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, id)
}
