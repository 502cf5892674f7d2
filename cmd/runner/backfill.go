package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/internal/atomicfile"
	"github.com/servebench/servebench/runner/backfill"
	"github.com/servebench/servebench/runner/compare"
)

func init() { register(newBackfillCmd) }

type backfillFlags struct {
	vmURL, rwURL, omFile, blocks, at string
	extra                            []string
}

func newBackfillCmd(e *env) *cobra.Command {
	var f backfillFlags
	c := &cobra.Command{
		Use:   "backfill [flags] RESULT...",
		Short: "push finished results into VictoriaMetrics or Prometheus blocks with their original timestamps",
		Long: `RESULT is a run directory, a cell directory or a summary.json (ours or an
imported GuideLLM / vllm bench serve file). Each benchmark becomes one sample
per servebench_benchmark_* series at its finish time. Blocks written with
--blocks go into Prometheus' --storage.tsdb.path (set a long retention).`,
		Example: `  runner backfill --victoria-metrics http://127.0.0.1:8428 results/smoke/RUN_A
  runner backfill --openmetrics history.om --blocks data/ results/scaling/*`,
		RunE: func(c *cobra.Command, args []string) error { return runBackfill(c.Context(), e, args, f) },
	}
	fs := c.Flags()
	fs.StringVar(&f.vmURL, "victoria-metrics", "", "VictoriaMetrics base URL to import into (/api/v1/import/prometheus, ms timestamps)")
	fs.StringVar(&f.rwURL, "remote-write", "", "Prometheus remote-write URL (…/api/v1/write; needs --web.enable-remote-write-receiver and an out-of-order window covering the samples' age)")
	fs.StringVar(&f.omFile, "openmetrics", "", "write an OpenMetrics file (s timestamps) for promtool tsdb create-blocks-from openmetrics")
	fs.StringVar(&f.blocks, "blocks", "", "also run promtool to turn the OpenMetrics file into TSDB blocks in this directory")
	fs.StringVar(&f.at, "at", "", "finish time (RFC 3339) for levels that neither requests.jsonl nor manifest.json can date")
	fs.StringArrayVar(&f.extra, "extra-label", nil, "name=value added to every sample on import (VictoriaMetrics; repeatable)")
	return c
}

func runBackfill(ctx context.Context, e *env, args []string, f backfillFlags) error {
	vmURL, rwURL, omFile, blocks, at, extra := &f.vmURL, &f.rwURL, &f.omFile, &f.blocks, &f.at, f.extra
	if len(args) == 0 {
		return usagef("backfill: give at least one result")
	}
	if *vmURL == "" && *omFile == "" && *rwURL == "" {
		return usagef("backfill: give --victoria-metrics URL, --remote-write URL and/or --openmetrics FILE")
	}
	if *blocks != "" && *omFile == "" {
		return usagef("backfill: --blocks needs --openmetrics FILE")
	}
	var fallback time.Time
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usagef("backfill: --at: %w", err)
		}
		fallback = t
	}
	all, err := backfill.Collect(compare.Loader{Decoders: resultDecoders}, args, fallback)
	if err != nil {
		return usagef("backfill: %w", err)
	}
	fams, err := backfill.Families(all)
	if err != nil {
		return err
	}
	if *omFile != "" {
		var buf bytes.Buffer
		if err := backfill.WriteOpenMetrics(&buf, fams); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(*omFile, buf.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %d benchmarks to %s\n", len(all), *omFile)
		if *blocks != "" {
			out, err := exec.CommandContext(ctx, "promtool", "tsdb", "create-blocks-from", "openmetrics", *omFile, *blocks).CombinedOutput()
			if err != nil {
				return fmt.Errorf("backfill: promtool: %w: %s", err, strings.TrimSpace(string(out)))
			}
			fmt.Fprintf(e.stdout, "blocks in %s: move them into Prometheus' --storage.tsdb.path\n", *blocks)
		} else {
			fmt.Fprintf(e.stdout, "next: promtool tsdb create-blocks-from openmetrics %s DIR\n", *omFile)
		}
	}
	if *vmURL != "" {
		if err := (backfill.VictoriaMetrics{URL: *vmURL, ExtraLabels: extra}).Import(ctx, fams); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "imported %d benchmarks into %s\n", len(all), *vmURL)
	}
	if *rwURL != "" {
		if err := (backfill.RemoteWrite{URL: *rwURL}).Write(ctx, fams); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "remote-wrote %d benchmarks to %s\n", len(all), *rwURL)
	}
	return nil
}
