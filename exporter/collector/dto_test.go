package collector

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

type dtoFamily = dto.MetricFamily

func metricDTO(t interface{ Fatal(...any) }, m prometheus.Metric) *dto.Metric {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// fqName extracts the series name from a metric's descriptor.
func fqName(m prometheus.Metric) string {
	s := m.Desc().String()
	i := strings.Index(s, `fqName: "`)
	s = s[i+len(`fqName: "`):]
	return s[:strings.Index(s, `"`)]
}
