package alerts

import (
	"fmt"

	"github.com/prometheus/common/model"
)

// Scrape is where Prometheus finds servebench and the engine.
type Scrape struct {
	Interval           model.Duration
	EvaluationInterval model.Duration
	Runner             string   // host:port of the runner's /metrics
	Exporter           string   // host:port of the standalone exporter's /metrics; "" for none
	Engine             string   // host:port of the engine's /metrics (vLLM or the simulator); "" for none
	EngineJob          string   // job name of the engine, as the rules expect it
	Alertmanager       string   // host:port of Alertmanager
	RuleFiles          []string // globs, relative to prometheus.yml
}

// DefaultScrape is the scrape set-up of the checked-in prometheus.yml: the
// ports of docker-compose.yml on loopback.
func DefaultScrape() Scrape {
	return Scrape{
		Interval: d("5s"), EvaluationInterval: d("15s"),
		Runner: "127.0.0.1:9464", Exporter: "127.0.0.1:9465", Engine: "127.0.0.1:8000",
		EngineJob: DefaultOptions().EngineJob, Alertmanager: "127.0.0.1:9093",
		RuleFiles: []string{"rules/*.yml"},
	}
}

type promConfig struct {
	Global struct {
		ScrapeInterval     model.Duration `yaml:"scrape_interval"`
		EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles []string `yaml:"rule_files"`
	Alerting  struct {
		Alertmanagers []promStatic `yaml:"alertmanagers"`
	} `yaml:"alerting"`
	ScrapeConfigs []promJob `yaml:"scrape_configs"`
}

type promStatic struct {
	StaticConfigs []promTargets `yaml:"static_configs"`
}

type promTargets struct {
	Targets []string `yaml:"targets"`
}

type promJob struct {
	JobName       string        `yaml:"job_name"`
	StaticConfigs []promTargets `yaml:"static_configs"`
}

// Prometheus renders prometheus.yml: up to three jobs (runner, exporter, engine),
// the rule files and Alertmanager. Summary series carry their finish time as
// the sample timestamp; scrapes keep it (honor_timestamps defaults to true).
func Prometheus(s Scrape) ([]byte, error) {
	if s.Runner == "" || s.Alertmanager == "" || s.EngineJob == "" {
		return nil, fmt.Errorf("prometheus config: runner, engine job and alertmanager are required")
	}
	var c promConfig
	c.Global.ScrapeInterval = s.Interval
	c.Global.EvaluationInterval = s.EvaluationInterval
	c.RuleFiles = s.RuleFiles
	c.Alerting.Alertmanagers = []promStatic{{StaticConfigs: []promTargets{{Targets: []string{s.Alertmanager}}}}}
	for _, j := range []struct{ name, target string }{{"runner", s.Runner}, {"exporter", s.Exporter}, {s.EngineJob, s.Engine}} {
		if j.target == "" {
			continue
		}
		c.ScrapeConfigs = append(c.ScrapeConfigs, promJob{JobName: j.name, StaticConfigs: []promTargets{{Targets: []string{j.target}}}})
	}
	return marshal(c)
}
