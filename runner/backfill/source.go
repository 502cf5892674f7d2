package backfill

import (
	"bufio"
	"bytes"
	"encoding/json"
	"time"

	"github.com/servebench/servebench/runner/thirdparty/pyjson"
)

// SourceTimes dates a third-party result file: GuideLLM's benchmarks carry
// start_time and end_time (Unix seconds); vllm bench serve's carry only a
// "date" (YYYYmmdd-HHMMSS in the local time of the machine that ran it, read
// here as UTC). For JSON Lines files the last line's date is the end. ok is
// false when the file says nothing usable.
func SourceTimes(raw []byte) (start, end time.Time, ok bool) {
	var g struct {
		Benchmarks []struct {
			Start *float64 `json:"start_time"`
			End   *float64 `json:"end_time"`
		} `json:"benchmarks"`
		Date string `json:"date"`
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	objects := [][]byte{bytes.TrimSpace(raw)}
	if !json.Valid(pyjson.Clean(objects[0])) {
		objects = nil
		for sc.Scan() {
			if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
				objects = append(objects, append([]byte(nil), l...))
			}
		}
	}
	unix := func(s float64) time.Time { return time.UnixMilli(int64(s * 1e3)).UTC() }
	for _, o := range objects {
		g.Benchmarks, g.Date = nil, ""
		if err := json.Unmarshal(pyjson.Clean(o), &g); err != nil {
			continue
		}
		for _, b := range g.Benchmarks {
			if b.Start != nil && *b.Start > 0 && (start.IsZero() || unix(*b.Start).Before(start)) {
				start = unix(*b.Start)
			}
			if b.End != nil && *b.End > 0 && unix(*b.End).After(end) {
				end = unix(*b.End)
			}
		}
		if t, err := time.Parse("20060102-150405", g.Date); err == nil {
			if start.IsZero() || t.Before(start) {
				start = t
			}
			if t.After(end) {
				end = t
			}
		}
	}
	return start, end, !end.IsZero()
}
