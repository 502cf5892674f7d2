package alerts

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/prometheus/common/model"
)

// Receivers are where Alertmanager sends servebench's alerts. The webhook
// gets every alert; Slack, when set, gets critical and warning alerts;
// e-mail, when set, gets critical alerts. All three get the run-finished
// notification.
type Receivers struct {
	WebhookURL string
	Slack      *Slack
	Email      *Email
}

// Slack is an incoming-webhook receiver.
type Slack struct {
	APIURL  string // https://hooks.slack.com/services/...
	Channel string // "#benchmarks"; empty uses the webhook's default channel
}

// Email is an SMTP receiver.
type Email struct {
	To, From     string
	Smarthost    string // host:port
	AuthUsername string
	AuthPassword string
}

// DefaultWebhookURL is the webhook receiver of the checked-in
// alertmanager.yml: a local endpoint, e.g. a CI job's listener.
const DefaultWebhookURL = "http://127.0.0.1:5001/alerts"

// Environment variables ReceiversFromEnv reads.
const (
	EnvWebhookURL   = "SERVEBENCH_ALERT_WEBHOOK_URL"
	EnvSlackURL     = "SERVEBENCH_ALERT_SLACK_WEBHOOK_URL"
	EnvSlackChannel = "SERVEBENCH_ALERT_SLACK_CHANNEL"
	EnvEmailTo      = "SERVEBENCH_ALERT_EMAIL_TO"
	EnvEmailFrom    = "SERVEBENCH_ALERT_EMAIL_FROM"
	EnvSMTPHost     = "SERVEBENCH_ALERT_SMTP_SMARTHOST"
	EnvSMTPUser     = "SERVEBENCH_ALERT_SMTP_USERNAME"
	EnvSMTPPassword = "SERVEBENCH_ALERT_SMTP_PASSWORD"
)

// ReceiversFromEnv builds receivers from environment variables (getenv is
// os.Getenv in cmd/obsgen): the webhook URL defaults to DefaultWebhookURL,
// Slack is on when its webhook URL is set, e-mail when its recipient is set
// (and then needs a sender and a smarthost).
func ReceiversFromEnv(getenv func(string) string) (Receivers, error) {
	r := Receivers{WebhookURL: getenv(EnvWebhookURL)}
	if r.WebhookURL == "" {
		r.WebhookURL = DefaultWebhookURL
	}
	if err := checkURL(EnvWebhookURL, r.WebhookURL); err != nil {
		return Receivers{}, err
	}
	if u := getenv(EnvSlackURL); u != "" {
		if err := checkURL(EnvSlackURL, u); err != nil {
			return Receivers{}, err
		}
		r.Slack = &Slack{APIURL: u, Channel: getenv(EnvSlackChannel)}
	}
	if to := getenv(EnvEmailTo); to != "" {
		e := &Email{To: to, From: getenv(EnvEmailFrom), Smarthost: getenv(EnvSMTPHost),
			AuthUsername: getenv(EnvSMTPUser), AuthPassword: getenv(EnvSMTPPassword)}
		var errs []error
		if e.From == "" {
			errs = append(errs, fmt.Errorf("%s is set but %s is empty", EnvEmailTo, EnvEmailFrom))
		}
		if e.Smarthost == "" {
			errs = append(errs, fmt.Errorf("%s is set but %s is empty", EnvEmailTo, EnvSMTPHost))
		}
		if err := errors.Join(errs...); err != nil {
			return Receivers{}, err
		}
		r.Email = e
	}
	return r, nil
}

func checkURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an http(s) URL", field, s)
	}
	return nil
}

// Timing is how fast Alertmanager notifies.
type Timing struct {
	GroupWait         model.Duration            // before the first notification of a new group
	CriticalGroupWait model.Duration            // the same for critical alerts
	GroupInterval     model.Duration            // between notifications of a changed group
	RepeatInterval    map[string]model.Duration // resending a still-firing group, by severity
}

// DefaultTiming is the timing of the checked-in alertmanager.yml.
func DefaultTiming() Timing {
	return Timing{
		GroupWait: d("30s"), CriticalGroupWait: d("10s"), GroupInterval: d("5m"),
		RepeatInterval: map[string]model.Duration{SeverityCritical: d("1h"), SeverityWarning: d("4h"), SeverityInfo: d("24h")},
	}
}

// Alertmanager's configuration, as much of it as servebench writes.
type amConfig struct {
	Route        amRoute      `yaml:"route"`
	InhibitRules []amInhibit  `yaml:"inhibit_rules"`
	Receivers    []amReceiver `yaml:"receivers"`
}

type amRoute struct {
	Receiver       string    `yaml:"receiver"`
	Matchers       []string  `yaml:"matchers,omitempty"`
	GroupBy        []string  `yaml:"group_by,omitempty"`
	GroupWait      string    `yaml:"group_wait,omitempty"`
	GroupInterval  string    `yaml:"group_interval,omitempty"`
	RepeatInterval string    `yaml:"repeat_interval,omitempty"`
	Routes         []amRoute `yaml:"routes,omitempty"`
}

type amInhibit struct {
	SourceMatchers []string `yaml:"source_matchers"`
	TargetMatchers []string `yaml:"target_matchers"`
	Equal          []string `yaml:"equal"`
}

type amReceiver struct {
	Name           string      `yaml:"name"`
	WebhookConfigs []amWebhook `yaml:"webhook_configs,omitempty"`
	SlackConfigs   []amSlack   `yaml:"slack_configs,omitempty"`
	EmailConfigs   []amEmail   `yaml:"email_configs,omitempty"`
}

type amWebhook struct {
	URL          string `yaml:"url"`
	SendResolved bool   `yaml:"send_resolved"`
	MaxAlerts    int    `yaml:"max_alerts"`
}

type amSlack struct {
	APIURL       string `yaml:"api_url"`
	Channel      string `yaml:"channel,omitempty"`
	SendResolved bool   `yaml:"send_resolved"`
	Title        string `yaml:"title"`
	Text         string `yaml:"text"`
}

type amEmail struct {
	To           string `yaml:"to"`
	From         string `yaml:"from"`
	Smarthost    string `yaml:"smarthost"`
	AuthUsername string `yaml:"auth_username,omitempty"`
	AuthPassword string `yaml:"auth_password,omitempty"`
	SendResolved bool   `yaml:"send_resolved"`
}

// Receiver names in alertmanager.yml.
const (
	receiverDefault     = "webhook"
	receiverRunFinished = "run-finished"
)

// groupBy groups notifications per alert and configuration.
var groupBy = []string{"alertname", "suite", "model", "workload", "cores"}

// Alertmanager renders alertmanager.yml: every alert goes to the webhook;
// each severity has its own route (and receiver) so Slack and e-mail can be
// attached per severity, and an engine that is down silences the symptoms
// it causes in the same suite and model (stalled run, errors). The
// run-finished notification has a route of its own, first: one group per
// run, every receiver, never its resolution, so it is sent once.
func Alertmanager(r Receivers, t Timing) ([]byte, error) {
	if err := checkURL("webhook URL", r.WebhookURL); err != nil {
		return nil, err
	}
	webhook := []amWebhook{{URL: r.WebhookURL, SendResolved: true}}
	cfg := amConfig{
		Route: amRoute{Receiver: receiverDefault, GroupBy: groupBy, GroupWait: t.GroupWait.String(),
			GroupInterval: t.GroupInterval.String(), RepeatInterval: t.RepeatInterval[SeverityWarning].String()},
		InhibitRules: []amInhibit{{
			SourceMatchers: []string{fmt.Sprintf("alertname=%q", AlertEngineDown)},
			TargetMatchers: []string{fmt.Sprintf("alertname=~%q", AlertRunStalled+"|"+AlertHighErrorRate)},
			Equal:          []string{"suite", "model"},
		}},
		Receivers: []amReceiver{{Name: receiverDefault, WebhookConfigs: webhook}},
	}
	done := amReceiver{Name: receiverRunFinished, WebhookConfigs: []amWebhook{{URL: r.WebhookURL}}}
	if r.Slack != nil {
		done.SlackConfigs = []amSlack{{APIURL: r.Slack.APIURL, Channel: r.Slack.Channel,
			Title: `{{ .CommonAnnotations.summary }}`,
			Text:  `{{ range .Alerts }}{{ .Annotations.description }} <{{ .Annotations.dashboard }}|Overview>` + "\n" + `{{ end }}`}}
	}
	if r.Email != nil {
		done.EmailConfigs = []amEmail{{To: r.Email.To, From: r.Email.From, Smarthost: r.Email.Smarthost,
			AuthUsername: r.Email.AuthUsername, AuthPassword: r.Email.AuthPassword}}
	}
	cfg.Route.Routes = append(cfg.Route.Routes, amRoute{Receiver: receiverRunFinished, Matchers: []string{fmt.Sprintf("alertname=%q", AlertRunFinished)},
		GroupBy: []string{"alertname", "run_id"}, GroupWait: t.GroupWait.String(), RepeatInterval: t.RepeatInterval[SeverityInfo].String()})
	cfg.Receivers = append(cfg.Receivers, done)
	for _, sev := range Severities {
		rcv := amReceiver{Name: sev, WebhookConfigs: webhook}
		if r.Slack != nil && sev != SeverityInfo {
			rcv.SlackConfigs = []amSlack{{APIURL: r.Slack.APIURL, Channel: r.Slack.Channel, SendResolved: true,
				Title: `[{{ .Status | toUpper }}] {{ .CommonAnnotations.summary }}`,
				Text:  `{{ range .Alerts }}{{ .Annotations.description }} <{{ .Annotations.runbook_url }}|runbook>` + "\n" + `{{ end }}`}}
		}
		if r.Email != nil && sev == SeverityCritical {
			rcv.EmailConfigs = []amEmail{{To: r.Email.To, From: r.Email.From, Smarthost: r.Email.Smarthost,
				AuthUsername: r.Email.AuthUsername, AuthPassword: r.Email.AuthPassword, SendResolved: true}}
		}
		wait := t.GroupWait
		if sev == SeverityCritical {
			wait = t.CriticalGroupWait
		}
		cfg.Route.Routes = append(cfg.Route.Routes, amRoute{Receiver: sev, Matchers: []string{fmt.Sprintf("severity=%q", sev)},
			GroupWait: wait.String(), RepeatInterval: t.RepeatInterval[sev].String()})
		cfg.Receivers = append(cfg.Receivers, rcv)
	}
	return marshal(cfg)
}
