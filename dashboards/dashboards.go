// Package dashboards builds servebench's Grafana dashboards as code with the
// grafana-foundation-sdk (the v1 dashboard model) from the metric contract in
// exporter/contract, so a renamed series breaks the build rather than a panel.
//
// Every board uses the $datasource variable (never a datasource UID), the
// suite / model / workload / cores / run variables, units on every panel and
// rows whose panels tile Grafana's 24 columns. Boards are pure functions of
// the contract: JSON renders byte for byte the same on every call, and the
// package is safe for concurrent use.
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Board is one generated dashboard.
type Board struct {
	Slug  string // file name without .json
	build func() *dashboard.DashboardBuilder
}

// All lists every board in menu order.
func All() []Board {
	return []Board{
		{"overview", overviewBoard},
		{"live", liveBoard},
		{"engine", engineBoard},
		{"host", hostBoard},
		{"scaling", scalingBoard},
		{"compare", compareBoard},
		{"history", historyBoard},
	}
}

// Dashboard builds the board's model.
func (b Board) Dashboard() (dashboard.Dashboard, error) {
	d, err := b.build().Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("build dashboard %s: %w", b.Slug, err)
	}
	// Grafana links, repeats and edits panels by id; the builder leaves them
	// unset (rows at 0), so number rows and panels in layout order.
	for i, p := range d.Panels {
		id := uint32(i + 1)
		switch {
		case p.Panel != nil:
			p.Panel.Id = &id
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		}
	}
	return d, nil
}

// JSON renders the board as indented JSON with a trailing newline, the form
// Grafana's file provisioning loads.
func (b Board) JSON() ([]byte, error) {
	d, err := b.Dashboard()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep PromQL's <, > and & readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encode dashboard %s: %w", b.Slug, err)
	}
	return buf.Bytes(), nil
}
