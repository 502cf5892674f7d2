package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/backfill"
	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/thirdparty"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
)

func init() {
	register(newImportCmd)
	// compare, report and backfill read third-party files directly too.
	resultDecoders = append(resultDecoders, decodeThirdParty)
}

// decodeThirdParty is a compare.Decoder for GuideLLM and vllm bench serve files.
func decodeThirdParty(path string, data []byte) (*results.Summary, bool, error) {
	f, err := thirdparty.Sniff(data)
	if err != nil || f == thirdparty.FormatServebench {
		return nil, false, nil
	}
	s, _, err := thirdparty.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, true, err
	}
	if s.Source == "" {
		s.Source = path
	}
	if s.RunID == "" {
		s.RunID = importRunID(f, data)
	}
	return s, true, nil
}

var _ compare.Decoder = decodeThirdParty

// importRunID names an imported file's run after its finish time, or its
// content when it has none, so importing the same file twice collides.
func importRunID(f thirdparty.Format, data []byte) string {
	sum := sha256.Sum256(data)
	id := "import-" + string(f) + "-"
	if _, end, ok := backfill.SourceTimes(data); ok {
		id += end.UTC().Format("20060102-150405") + "-"
	}
	return id + hex.EncodeToString(sum[:3])
}

type importFlags struct {
	root, output, suite, workload string
	cores                         int
}

func newImportCmd(e *env) *cobra.Command {
	var f importFlags
	c := &cobra.Command{
		Use:   "import [--results DIR | --output summary.json] FILE...",
		Short: "import GuideLLM and vllm bench serve result files into the results store",
		Long: `FILE is a GuideLLM JSON report (v0.4 to v0.7) or a vllm bench serve
--save-result file (JSON or JSON Lines). The numbers are the source's,
normalised to servebench's summary shape; the source file is kept beside it.`,
		Example: `  runner import --results results benchmarks.json
  runner import vllm-bench.json --cores 16 --workload chat
  runner import --output summary.json benchmarks.json`,
		RunE: func(_ *cobra.Command, args []string) error { return runImport(e, args, f) },
	}
	fs := c.Flags()
	fs.StringVar(&f.root, "results", "", "results `DIR` to import into, as <DIR>/<suite>/<run>/<cell>/ (default results, or SERVEBENCH_RESULTS)")
	fs.StringVar(&f.output, "output", "", "write the normalised summary.json here instead of into the store (one FILE only)")
	fs.StringVar(&f.suite, "suite", "import", "suite the imported runs belong to (their history series carry it)")
	fs.StringVar(&f.workload, "workload", "", "workload name to record (the files do not say; default custom)")
	fs.IntVar(&f.cores, "cores", 0, "engine cores the server had (the files do not say; enables tokens/s per core)")
	return c
}

func runImport(e *env, files []string, fl importFlags) error {
	root, output, suiteName, workload, cores := &fl.root, &fl.output, &fl.suite, &fl.workload, &fl.cores
	if len(files) == 0 {
		return usagef("import: give at least one result file")
	}
	if *output != "" && (len(files) != 1 || *root != "") {
		return usagef("import: --output takes exactly one FILE and no --results")
	}
	if *suiteName == "" || strings.ContainsAny(*suiteName, `/\`) || *cores < 0 {
		return usagef("import: --suite must be a plain name and --cores >= 0")
	}
	*root = resultsRoot(*root, e.getenv)
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return usagef("import: %w", err)
		}
		f, err := thirdparty.Sniff(data)
		if err != nil {
			return usagef("import: %s: %w", path, err)
		}
		if f == thirdparty.FormatServebench {
			return usagef("import: %s is already a servebench summary.json", path)
		}
		s, ok, err := decodeThirdParty(path, data)
		if err != nil || !ok {
			return usagef("import: %s: %w", path, err)
		}
		if abs, err := filepath.Abs(path); err == nil {
			s.Source = abs
		}
		s.Suite, s.Cell = *suiteName, cellID(path)
		if *workload != "" {
			s.Workload = *workload
		}
		if s.Workload == "" {
			s.Workload = "custom"
		}
		if *cores > 0 {
			s.Cores = *cores
		}
		if *output != "" {
			var buf bytes.Buffer
			if err := results.WriteSummary(&buf, s); err != nil {
				return err
			}
			if err := os.WriteFile(*output, buf.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s (%s): %d benchmarks -> %s\n", path, f, len(s.Benchmarks), *output)
			continue
		}
		dir, err := storeImport(*root, s, f, path, data)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s (%s): %d benchmarks -> %s\n", path, f, len(s.Benchmarks), dir)
	}
	return nil
}

// cellID names the imported cell after the file, without its extension.
func cellID(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ' ' {
			return '_'
		}
		return r
	}, base)
}

// storeImport writes <root>/<suite>/<run>/<cell>/ with summary.json,
// manifest.json (dated from the source) and the source file itself.
func storeImport(root string, s *results.Summary, f thirdparty.Format, path string, data []byte) (string, error) {
	st := store.New(root, nil)
	run, err := st.Create(s.Suite, s.RunID, []store.CellState{{ID: s.Cell, Status: store.CellPending}}, map[string]string{"source": s.Source, "format": string(f)})
	if err != nil {
		return "", fmt.Errorf("import: %w (already imported?)", err)
	}
	cw, err := run.Cell(s.Cell)
	if err != nil {
		return "", err
	}
	if err := cw.Close(); err != nil {
		return "", err
	}
	// The store opens requests.jsonl for every cell. Keep it only with the
	// source's complete per-request records; an empty file would claim
	// records that were never kept.
	reqPath := filepath.Join(cw.Dir, "requests.jsonl")
	if recs := importRecords(s, f, data); recs != nil {
		var buf bytes.Buffer
		w := results.NewRequestWriter(&buf)
		for i := range recs {
			if err := w.Write(&recs[i]); err != nil {
				return "", err
			}
		}
		if err := w.Flush(); err != nil {
			return "", err
		}
		if err := os.WriteFile(reqPath, buf.Bytes(), 0o644); err != nil {
			return "", err
		}
	} else if err := os.Remove(reqPath); err != nil {
		return "", err
	}
	if err := cw.WriteSummary(s); err != nil {
		return "", err
	}
	m := &store.Manifest{RunID: s.RunID, Suite: s.Suite, Cell: s.Cell, Model: s.Model, Workload: s.Workload, Cores: s.Cores, Loadgen: store.Loadgen{Name: s.Loadgen},
		Command: "runner import " + filepath.Base(path)}
	if start, end, ok := backfill.SourceTimes(data); ok {
		m.Started, m.Finished = start, end
	} else {
		m.Started = time.Now().UTC()
	}
	if err := cw.WriteManifest(m); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(cw.Dir, "source-"+filepath.Base(path)), data, 0o644); err != nil {
		return "", err
	}
	if err := run.SetCell(s.Cell, store.CellDone, nil); err != nil {
		return "", err
	}
	if err := run.Close(store.StatusComplete); err != nil {
		return "", err
	}
	return cw.Dir, nil
}

// importRecords returns a GuideLLM report's per-request records, each tagged
// with its benchmark's level, when they are complete: as many per benchmark
// as the summary counts requests. A reservoir sample (sample_size=N) would
// understate throughput, so it is not kept; neither are other formats, which
// carry none.
func importRecords(s *results.Summary, f thirdparty.Format, data []byte) []measure.Result {
	if f != thirdparty.FormatGuideLLM {
		return nil
	}
	per, err := guidellm.Requests(bytes.NewReader(data))
	if err != nil || len(per) != len(s.Benchmarks) {
		return nil
	}
	var out []measure.Result
	for i, rs := range per {
		b := s.Benchmarks[i]
		if len(rs) != b.Requests.Successful+b.Requests.Failed+b.Requests.Incomplete {
			return nil
		}
		for j := range rs {
			rs[j].Level = b.Level
		}
		out = append(out, rs...)
	}
	return out
}
