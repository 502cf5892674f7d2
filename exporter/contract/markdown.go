package contract

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Markdown renders the contract as docs/metrics.md. The output depends only
// on the contract, so `make generate` reproduces it byte for byte.
func Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# servebench metrics\n\n")
	b.WriteString("<!-- Generated from exporter/contract by `make generate`; do not edit. -->\n\n")
	b.WriteString("Every series is in the `" + Namespace + "_` namespace, in base units, with bounded labels only.\n")
	b.WriteString("Benchmark labels: " + codeList(BenchmarkLabels) + ".\n\n")
	for _, g := range Groups() {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", g.Title, g.Intro)
		b.WriteString("| series | type | unit | labels | meaning |\n|---|---|---|---|---|\n")
		for _, m := range g.Metrics {
			unit := m.Unit
			if unit == "" {
				unit = "-"
			}
			labels := codeList(m.Labels)
			if m.Type == SummaryType {
				// Users select quantiles by this label, so name it although
				// the library adds it.
				labels = codeList(append(clone(m.Labels), LabelQuantile))
			}
			if labels == "" {
				labels = "-"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", m.Name, m.Type, unit, labels, m.Help)
		}
		b.WriteString("\n")
	}

	b.WriteString("## Label values\n\n")
	outcomes := make([]string, len(Outcomes))
	for i, o := range Outcomes {
		outcomes[i] = string(o)
	}
	kinds := make([]string, len(ErrorKinds))
	for i, k := range ErrorKinds {
		kinds[i] = string(k)
	}
	roles := make([]string, len(Roles))
	for i, r := range Roles {
		roles[i] = string(r)
	}
	fmt.Fprintf(&b, "- `%s`: %s\n", LabelOutcome, codeList(outcomes))
	fmt.Fprintf(&b, "- `%s`: %s\n", LabelKind, codeList(kinds))
	statuses := make([]string, len(RunStatuses))
	for i, st := range RunStatuses {
		statuses[i] = string(st)
	}
	fmt.Fprintf(&b, "- `%s`: %s\n", LabelRole, codeList(roles))
	fmt.Fprintf(&b, "- `%s` (run completion series): %s\n", LabelStatus, codeList(statuses))
	units := make([]string, len(TargetUnits))
	for i, u := range TargetUnits {
		units[i] = string(u)
	}
	fmt.Fprintf(&b, "- `%s` (target rates): %s\n", LabelUnit, codeList(units))
	fmt.Fprintf(&b, "- `%s` (summary series): %s\n\n", LabelQuantile, codeList(SummaryQuantiles))

	b.WriteString("## Histogram buckets\n\n")
	b.WriteString("Classic `le` buckets, so `histogram_quantile` works on Prometheus 2.42+, Prometheus 3 and VictoriaMetrics; " +
		"native (exponential) buckets are exposed alongside to protobuf scrapers.\n\n")
	fmt.Fprintf(&b, "- Latency (TTFT, ITL, TPOT, E2E), %d bounds in seconds: %s\n", len(LatencyBuckets), boundList(LatencyBuckets))
	fmt.Fprintf(&b, "- Send lateness, %d bounds in seconds: %s\n", len(LatenessBuckets), boundList(LatenessBuckets))
	return b.Bytes()
}

func codeList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = "`" + v + "`"
	}
	return strings.Join(q, ", ")
}

func boundList(bs []float64) string {
	q := make([]string, len(bs))
	for i, v := range bs {
		q[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(q, ", ")
}
