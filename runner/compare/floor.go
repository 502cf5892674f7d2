package compare

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/servebench/servebench/internal/atomicfile"
	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/store"
)

// FloorSchemaVersion is the version of the noise-floor file.
const FloorSchemaVersion = 1

// maxFloorRecords is how many measurements a floor keeps per metric of one
// configuration, newest last: enough degrees of freedom for a sharp test,
// few enough that the floor follows a host whose noise changes.
const maxFloorRecords = 10

// FloorKey is what a noise floor is measured for: one load level of one
// configuration on one host. Host is the manifest's host name and hardware
// fields; inputs without a manifest share a floor per configuration.
type FloorKey struct {
	Model    string `json:"model"`
	Workload string `json:"workload"`
	Cores    int    `json:"cores"`
	Loadgen  string `json:"loadgen"`
	Cell     string `json:"cell"`
	Level    string `json:"level"`
	Profile  string `json:"profile"`
	Host     string `json:"host"`
}

func keyOf(r run) FloorKey {
	s := r.cell.Summary
	hw := hardware(r.cell.Manifest)
	var host []string
	for k, v := range hw {
		host = append(host, k+"="+v)
	}
	if name, ok := store.LookupString(r.cell.Manifest, "host", "hostname"); ok {
		host = append(host, "hostname="+name)
	}
	sort.Strings(host)
	return FloorKey{Model: s.Model, Workload: s.Workload, Cores: s.Cores, Loadgen: s.Loadgen, Cell: baseKey(*r.cell),
		Level: r.b.Level, Profile: r.b.Profile, Host: strings.Join(host, " ")}
}

// FloorUpdate is one run-to-run variance a comparison measured: a metric
// over one side's repeats of one level.
type FloorUpdate struct {
	Key      FloorKey
	Metric   string
	Source   string // the runs it was measured on
	Variance analysis.Variance
}

// Floor is a stored noise floor: for each configuration, host and level,
// the run-to-run variance of every metric, measured from repeats of earlier
// comparisons. It lets two sides with few repeats — even one run each — be
// judged against how much this configuration varies on this host.
type Floor struct {
	SchemaVersion int          `json:"schema_version"`
	Entries       []FloorEntry `json:"entries"`
}

// FloorEntry is the floor of one key.
type FloorEntry struct {
	Key     FloorKey                 `json:"config"`
	Metrics map[string][]FloorRecord `json:"metrics"`
}

// FloorRecord is one measurement: the variance of ln(value) over the
// repeats named by Source.
type FloorRecord struct {
	Source   string    `json:"source"`
	Recorded time.Time `json:"recorded"`
	Var      float64   `json:"var"`
	DF       float64   `json:"df"`
}

func (f *Floor) entry(k FloorKey) *FloorEntry {
	for i := range f.Entries {
		if f.Entries[i].Key == k {
			return &f.Entries[i]
		}
	}
	return nil
}

// Variance pools the stored measurements of metric for key, leaving out
// those measured on any run in exclude (the runs being compared, which the
// test counts already). DF 0 when there are none.
func (f *Floor) Variance(key FloorKey, metric string, exclude map[string]bool) analysis.Variance {
	e := f.entry(key)
	if e == nil {
		return analysis.Variance{}
	}
	var vs []analysis.Variance
	for _, r := range e.Metrics[metric] {
		if overlaps(r.Source, exclude) {
			continue
		}
		vs = append(vs, analysis.Variance{Var: r.Var, DF: r.DF})
	}
	return analysis.Pool(vs...)
}

func overlaps(source string, runs map[string]bool) bool {
	for _, s := range strings.Split(source, ",") {
		if runs[s] {
			return true
		}
	}
	return false
}

// Add records updates measured at the given time. A measurement of runs
// already recorded for the key and metric is skipped (a baseline compared
// night after night counts once). It returns how many were added.
func (f *Floor) Add(at time.Time, ups ...FloorUpdate) int {
	if f.SchemaVersion == 0 {
		f.SchemaVersion = FloorSchemaVersion
	}
	n := 0
	for _, u := range ups {
		if u.Variance.DF <= 0 || math.IsNaN(u.Variance.Var) || u.Variance.Assumed() {
			continue
		}
		e := f.entry(u.Key)
		if e == nil {
			f.Entries = append(f.Entries, FloorEntry{Key: u.Key, Metrics: map[string][]FloorRecord{}})
			e = &f.Entries[len(f.Entries)-1]
		}
		recs := e.Metrics[u.Metric]
		srcs := map[string]bool{}
		for _, s := range strings.Split(u.Source, ",") {
			srcs[s] = true
		}
		if slices.ContainsFunc(recs, func(r FloorRecord) bool { return overlaps(r.Source, srcs) }) {
			continue
		}
		recs = append(recs, FloorRecord{Source: u.Source, Recorded: at.UTC(), Var: u.Variance.Var, DF: u.Variance.DF})
		if len(recs) > maxFloorRecords {
			recs = recs[len(recs)-maxFloorRecords:]
		}
		e.Metrics[u.Metric] = recs
		n++
	}
	slices.SortFunc(f.Entries, func(a, b FloorEntry) int {
		return cmp.Or(strings.Compare(a.Key.Cell, b.Key.Cell), strings.Compare(a.Key.Level, b.Key.Level),
			strings.Compare(a.Key.Host, b.Key.Host), strings.Compare(fmt.Sprint(a.Key), fmt.Sprint(b.Key)))
	})
	return n
}

// ReadFloor reads a noise-floor file; a missing file is an empty floor.
func ReadFloor(path string) (*Floor, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Floor{SchemaVersion: FloorSchemaVersion}, nil
	}
	if err != nil {
		return nil, err
	}
	var f Floor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("noise floor %s: %w", path, err)
	}
	if f.SchemaVersion != FloorSchemaVersion {
		return nil, fmt.Errorf("noise floor %s: schema_version %d, this build reads %d", path, f.SchemaVersion, FloorSchemaVersion)
	}
	for _, e := range f.Entries {
		for m, recs := range e.Metrics {
			for _, r := range recs {
				if !(r.Var >= 0) || !(r.DF > 0) || math.IsInf(r.Var, 0) || math.IsInf(r.DF, 0) {
					return nil, fmt.Errorf("noise floor %s: %s %s %s: var %g with %g df is not a measured variance", path, e.Key.Cell, e.Key.Level, m, r.Var, r.DF)
				}
			}
		}
	}
	return &f, nil
}

// Write replaces path with the floor atomically: a failed write leaves the
// old file as it was.
func (f *Floor) Write(path string) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("noise floor: %w", err)
	}
	return nil
}
