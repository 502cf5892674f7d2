// Command obsgen writes servebench's generated observability files: the
// Grafana boards and their provisioning, the Prometheus rules and their
// promtool unit tests, prometheus.yml, alertmanager.yml and docs/metrics.md.
// `make generate` runs it; the output depends only on the code, so a test
// can demand that the checked-in files equal it byte for byte.
//
// With --alertmanager PATH it writes only an alertmanager.yml whose receivers
// come from the environment (SERVEBENCH_ALERT_* variables, see
// docs/dashboards.md), for a deployment rather than for the repository.
//
// Exit codes: 0 success, 1 failure, 2 bad usage or environment.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/alerts"
	"github.com/servebench/servebench/dashboards"
	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/internal/atomicfile"
	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := newRoot(stdout, getenv)
	cli.Setup(cmd, stdout, stderr, buildinfo.Get().String("obsgen"))
	c, err := cli.Execute(context.Background(), cmd, args)
	if err == nil {
		return 0
	}
	cli.Report(stderr, c, err)
	if cli.IsUsage(err) {
		return 2
	}
	return 1
}

func newRoot(stdout io.Writer, getenv func(string) string) *cobra.Command {
	var root, amPath string
	cmd := &cobra.Command{
		Use:   "obsgen [--root DIR | --alertmanager PATH]",
		Short: "write servebench's generated boards, rules, configs and docs/metrics.md",
		Long: `Writes the Grafana boards and their provisioning, the Prometheus rules and
their promtool tests, prometheus.yml, alertmanager.yml and docs/metrics.md
under --root; make generate runs it. With --alertmanager it writes only an
alertmanager.yml whose receivers come from SERVEBENCH_ALERT_* variables.`,
		Example: `  obsgen --root .
  obsgen --alertmanager /etc/servebench/alertmanager.yml`,
		Args: cli.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if amPath != "" {
				return writeAlertmanager(stdout, amPath, getenv)
			}
			files, err := generate()
			if err != nil {
				return err
			}
			if err := write(root, files); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %d files under %s\n", len(files), root)
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", ".", "repository root to write the generated files under")
	cmd.Flags().StringVar(&amPath, "alertmanager", "", "write only an alertmanager.yml with receivers from SERVEBENCH_ALERT_* to this path")
	return cmd
}

// writeAlertmanager writes an alertmanager.yml for a deployment.
func writeAlertmanager(stdout io.Writer, path string, getenv func(string) string) error {
	r, err := alerts.ReceiversFromEnv(getenv)
	if err != nil {
		return cli.Usage(err)
	}
	b, err := alerts.Alertmanager(r, alerts.DefaultTiming())
	if err != nil {
		return err
	}
	// It may hold a Slack webhook URL or an SMTP password.
	if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", path)
	return nil
}

// Paths of the generated files, relative to the repository root.
const (
	boardsDir       = "deploy/grafana/dashboards"
	provisioningDir = "deploy/grafana/provisioning"
	rulesDir        = "deploy/prometheus/rules"
	ruleTestsDir    = "deploy/prometheus/tests"
	prometheusYML   = "deploy/prometheus/prometheus.yml"
	alertmanagerYML = "deploy/alertmanager/alertmanager.yml"
	metricsMD       = "docs/metrics.md"
)

// generate renders every generated file, by path relative to the root.
func generate() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, b := range dashboards.All() {
		js, err := b.JSON()
		if err != nil {
			return nil, err
		}
		out[filepath.Join(boardsDir, b.Slug+".json")] = js
	}
	out[filepath.Join(provisioningDir, "dashboards", "servebench.yml")] = []byte(dashboards.DashboardProvider)
	out[filepath.Join(provisioningDir, "datasources", "prometheus.yml")] = []byte(dashboards.Datasource)

	for name, f := range alerts.Files(alerts.DefaultOptions()) {
		b, err := f.YAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[filepath.Join(rulesDir, name)] = b
	}
	rel, err := filepath.Rel(ruleTestsDir, rulesDir)
	if err != nil {
		return nil, err
	}
	tests, err := alerts.UnitTests(filepath.ToSlash(rel)).YAML()
	if err != nil {
		return nil, fmt.Errorf("rule tests: %w", err)
	}
	out[filepath.Join(ruleTestsDir, alerts.TestsFile)] = tests

	prom, err := alerts.Prometheus(alerts.DefaultScrape())
	if err != nil {
		return nil, err
	}
	out[prometheusYML] = prom
	am, err := alerts.Alertmanager(alerts.Receivers{WebhookURL: alerts.DefaultWebhookURL}, alerts.DefaultTiming())
	if err != nil {
		return nil, err
	}
	out[alertmanagerYML] = am
	out[metricsMD] = contract.Markdown()
	return out, nil
}

// write writes files under root in a stable order, creating directories.
func write(root string, files map[string][]byte) error {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := atomicfile.WriteFile(full, files[p], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}
