package alerts

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/internal/e2e"
)

// webhookMessage is the part of Alertmanager's webhook payload the test reads.
type webhookMessage struct {
	Status string         `json:"status"`
	Alerts []webhookAlert `json:"alerts"`
}

// webhookAlert is one alert of a webhook message.
type webhookAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// inbox keeps every alert the webhook received, in order.
type inbox struct {
	mu     sync.Mutex
	alerts []webhookAlert
}

// collect keeps the messages of hook as they arrive.
func collect(hook <-chan webhookMessage) *inbox {
	in := &inbox{}
	go func() {
		for m := range hook {
			in.mu.Lock()
			in.alerts = append(in.alerts, m.Alerts...)
			in.mu.Unlock()
		}
	}()
	return in
}

// all returns the alerts received so far that match.
func (in *inbox) all(match func(webhookAlert) bool) []webhookAlert {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []webhookAlert
	for _, al := range in.alerts {
		if match(al) {
			out = append(out, al)
		}
	}
	return out
}

// find returns the first alert received so far that matches.
func (in *inbox) find(match func(webhookAlert) bool) (webhookAlert, bool) {
	if got := in.all(match); len(got) > 0 {
		return got[0], true
	}
	return webhookAlert{}, false
}

// wait waits up to d for an alert that matches.
func (in *inbox) wait(d time.Duration, match func(webhookAlert) bool) (webhookAlert, bool) {
	deadline := time.Now().Add(d)
	for {
		if al, ok := in.find(match); ok || time.Now().After(deadline) {
			return al, ok
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// summarySample is one finished benchmark's output tokens/s, with its run's
// finish time and validity, as the runner publishes them.
type summarySample struct {
	labels labelSet // configuration and run_id
	value  float64
	at     time.Time
}

// lines renders the sample's three series, each stamped with ts.
func (s summarySample) lines(ts string) string {
	keys := make([]string, 0, len(s.labels))
	for k := range s.labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, s.labels[k])
	}
	l := strings.Join(parts, ",")
	return fmt.Sprintf("%s{%s} %g %s\n%s{%s} %d %s\n%s{%s} 1 %s\n", contract.BenchmarkOutputTokenRate.Name, l, s.value, ts,
		contract.BenchmarkFinished.Name, l, s.at.Unix(), ts, contract.BenchmarkValid.Name, l, ts)
}

// summaryFamilies are the families summarySample.lines writes.
var summaryFamilies = []contract.Metric{contract.BenchmarkOutputTokenRate, contract.BenchmarkFinished, contract.BenchmarkValid}

// TestE2ERegressionAlertDelivered: four hourly baseline runs of two
// configurations are backfilled into a real Prometheus's TSDB with promtool
// (as `runner backfill` does for history); then a fresh run is scraped with
// its finish timestamp, degraded for configuration A (-30% tokens/s) and
// normal for B. The generated rules (with one-second intervals) must fire
// ServebenchThroughputRegression for A only, and a real Alertmanager must
// deliver it to the test's webhook within a bounded time.
func TestE2ERegressionAlertDelivered(t *testing.T) {
	t.Parallel()
	promtoolBin := e2e.Require(t, "promtool")
	e2e.Require(t, "prometheus")

	hook, am := startWebhookAlertmanager(t)

	name := contract.BenchmarkOutputTokenRate.Name
	a, b := config("nightly", "chat", "8", "constant-4"), config("nightly", "chat", "16", "constant-4")
	now := time.Now()
	var baseline []summarySample
	for _, cfg := range []struct {
		l      labelSet
		values []float64
	}{{a, []float64{100, 102, 98, 100}}, {b, []float64{200, 204, 196, 200}}} {
		for i, v := range cfg.values {
			baseline = append(baseline, summarySample{cfg.l.with(contract.LabelRunID, fmt.Sprintf("r%d", i)), v, now.Add(time.Duration(i-5) * time.Hour)})
		}
	}
	tsdb := filepath.Join(t.TempDir(), "tsdb")
	backfill(t, promtoolBin, tsdb, baseline)

	// The fresh run, exposed the way the runner exposes summary series: one
	// sample per configuration with the finish time as its timestamp.
	finished := now.Add(-5 * time.Second)
	latest := []summarySample{{a.with(contract.LabelRunID, "r9"), 70, finished}, {b.with(contract.LabelRunID, "r9"), 199, finished}}
	runner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		for _, s := range latest {
			fmt.Fprint(w, s.lines(fmt.Sprint(s.at.UnixMilli())))
		}
	}))
	defer runner.Close()

	dir := t.TempDir()
	o := DefaultOptions()
	o.RegressionInterval, o.LiveInterval, o.RegressionFor = d("1s"), d("1s"), d("1s")
	writeRules(t, dir, o)
	cfg := mustString(t, func() ([]byte, error) {
		return Prometheus(Scrape{Interval: d("1s"), EvaluationInterval: d("1s"), Runner: strings.TrimPrefix(runner.URL, "http://"),
			EngineJob: o.EngineJob, Alertmanager: am.Addr, RuleFiles: []string{"rules/*.yml"}})
	})
	prom := e2e.StartPrometheusTSDB(t, dir, tsdb, cfg)

	// The baseline is in the TSDB: four runs per configuration.
	if got := queryValues(t, prom.URL, fmt.Sprintf("count by (cores) (last_over_time(%s[1d]))", name)); len(got) != 2 || got[0] < 4 {
		t.Fatalf("backfilled runs per configuration: %v, want 2 configurations with 4+ runs", got)
	}

	deadline := time.After(60 * time.Second)
	for delivered := false; !delivered; {
		select {
		case m := <-hook:
			for _, al := range m.Alerts {
				if al.Labels["alertname"] != AlertThroughputRegression {
					continue
				}
				if al.Labels[contract.LabelCores] != "8" {
					t.Fatalf("regression alert for the healthy configuration: %v", al.Labels)
				}
				if al.Status == "firing" {
					if !strings.Contains(al.Annotations["description"], "is 70% of the median") {
						t.Errorf("description %q", al.Annotations["description"])
					}
					if al.Annotations["runbook_url"] == "" || al.Labels["severity"] != SeverityWarning {
						t.Errorf("alert %v %v", al.Labels, al.Annotations)
					}
					delivered = true
				}
			}
		case <-deadline:
			t.Fatalf("no %s delivered to the webhook within 60s; firing in Prometheus: %v",
				AlertThroughputRegression, queryValues(t, prom.URL, "ALERTS"))
		}
	}
	// Only A regressed.
	if firing := queryValues(t, prom.URL, fmt.Sprintf(`ALERTS{alertname=%q,alertstate="firing"}`, AlertThroughputRegression)); len(firing) != 1 {
		t.Errorf("firing %s series: %d, want 1", AlertThroughputRegression, len(firing))
	}
}

// startWebhookAlertmanager runs a real Alertmanager with the generated
// configuration, notifying at once (group wait 0, group interval 1 s), whose
// only receiver is a webhook of the test's; the webhook's messages arrive on
// the channel.
func startWebhookAlertmanager(t *testing.T) (<-chan webhookMessage, *e2e.Alertmanager) {
	t.Helper()
	hook := make(chan webhookMessage, 64)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m webhookMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook payload: %v", err)
		}
		hook <- m
	}))
	t.Cleanup(receiver.Close)
	instant := model.Duration(0)
	am := e2e.StartAlertmanager(t, mustString(t, func() ([]byte, error) {
		return Alertmanager(Receivers{WebhookURL: receiver.URL + "/alerts"}, Timing{GroupWait: instant, CriticalGroupWait: instant,
			GroupInterval: d("1s"), RepeatInterval: map[string]model.Duration{SeverityCritical: d("1h"), SeverityWarning: d("1h"), SeverityInfo: d("1h")}})
	}))
	return hook, am
}

func mustString(t *testing.T, f func() ([]byte, error)) string {
	t.Helper()
	b, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// backfill writes samples as OpenMetrics (timestamps in seconds, one
// family after the other) and turns them into TSDB blocks under tsdb with
// promtool.
func backfill(t *testing.T, promtoolBin, tsdb string, samples []summarySample) {
	t.Helper()
	var om strings.Builder
	for _, m := range summaryFamilies {
		fmt.Fprintf(&om, "# TYPE %s gauge\n", m.Name)
		for _, s := range samples {
			for _, l := range strings.SplitAfter(s.lines(fmt.Sprint(s.at.Unix())), "\n") {
				if strings.HasPrefix(l, m.Name+"{") {
					om.WriteString(l)
				}
			}
		}
	}
	om.WriteString("# EOF\n")
	src := filepath.Join(t.TempDir(), "history.om")
	if err := os.WriteFile(src, []byte(om.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtoolBin, "tsdb", "create-blocks-from", "openmetrics", src, tsdb).CombinedOutput(); err != nil {
		t.Fatalf("promtool backfill: %v\n%s", err, out)
	}
}

// queryValues runs an instant query and returns the sample values.
func queryValues(t *testing.T, base, q string) []float64 {
	t.Helper()
	return e2e.Query(t, base, q, time.Time{})
}
