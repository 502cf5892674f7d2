package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/servebench/servebench/runner/thirdparty/crosscheck"
)

// Parse reads a tool's report with the named parser into the claim the
// metering proxy's records are checked against. Counts the tool does not
// report are left unchecked; a report the parser cannot read is an error
// naming what is wrong with it.
func Parse(parser string, data []byte, v Vars) (crosscheck.Claim, error) {
	var c crosscheck.Claim
	var err error
	switch parser {
	case "vegeta":
		c, err = parseVegeta(data)
	case "wrk":
		c, err = parseWrk(data)
	case "ab":
		c, err = parseAB(data)
	case "locust":
		c, err = parseLocust(data)
	default:
		return c, fmt.Errorf("no report parser %q (parsers: %s)", parser, strings.Join(Parsers, ", "))
	}
	if err != nil {
		return c, fmt.Errorf("%s report: %w", parser, err)
	}
	c.Tool = parser
	return c, nil
}

// parseVegeta reads `vegeta report -type json`: requests, the success
// ratio, and the throughput (successes over the attack and the wait for
// its last answer, from earliest to end).
func parseVegeta(data []byte) (crosscheck.Claim, error) {
	var r struct {
		Requests   *int      `json:"requests"`
		Success    *float64  `json:"success"`
		Throughput *float64  `json:"throughput"`
		Earliest   time.Time `json:"earliest"`
		End        time.Time `json:"end"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return crosscheck.Claim{}, err
	}
	if r.Requests == nil || r.Success == nil {
		return crosscheck.Claim{}, errors.New("no requests or success field")
	}
	c := crosscheck.Claim{Total: *r.Requests, HasTotal: true, Successful: int(math.Round(*r.Success * float64(*r.Requests))), HasSuccessful: true}
	if r.Throughput != nil && *r.Throughput > 0 && r.End.After(r.Earliest) {
		c.Rate, c.RateStart, c.RateSpan = *r.Throughput, r.Earliest, r.End.Sub(r.Earliest)
	}
	return c, nil
}

// parseWrk reads the JSON line servebench's Lua script writes from wrk's
// summary: completed responses (non-2xx/3xx among them in errors.status),
// and the read, write and timeout errors of requests that reached the
// server but got no complete answer (connect errors never did).
func parseWrk(data []byte) (crosscheck.Claim, error) {
	var r struct {
		Requests   *int  `json:"requests"`
		DurationUS int64 `json:"duration_us"`
		Errors     struct {
			Connect, Read, Write, Status, Timeout int
		} `json:"errors"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(data), &r); err != nil {
		return crosscheck.Claim{}, err
	}
	if r.Requests == nil {
		return crosscheck.Claim{}, errors.New("no requests field")
	}
	e := r.Errors
	ok := max(0, *r.Requests-e.Status)
	c := crosscheck.Claim{Total: *r.Requests + e.Read + e.Write + e.Timeout, HasTotal: true, Successful: ok, HasSuccessful: true}
	if r.DurationUS > 0 {
		c.RateSpan = time.Duration(r.DurationUS) * time.Microsecond
		c.Rate = float64(ok) / c.RateSpan.Seconds()
	}
	return c, nil
}

var abLine = regexp.MustCompile(`(?m)^(Complete requests|Failed requests|Non-2xx responses|Time taken for tests):\s+([0-9.]+)`)

// parseAB reads Apache Bench's text report: complete requests (non-2xx
// answers among them), failed requests and the time taken.
func parseAB(data []byte) (crosscheck.Claim, error) {
	got := map[string]float64{}
	for _, m := range abLine.FindAllSubmatch(data, -1) {
		v, err := strconv.ParseFloat(string(m[2]), 64)
		if err != nil {
			return crosscheck.Claim{}, fmt.Errorf("%s: %w", m[1], err)
		}
		got[string(m[1])] = v
	}
	complete, ok := got["Complete requests"]
	if !ok {
		return crosscheck.Claim{}, errors.New(`no "Complete requests:" line (did ab finish?)`)
	}
	succ := max(0, int(complete)-int(got["Failed requests"])-int(got["Non-2xx responses"]))
	c := crosscheck.Claim{Total: int(complete), HasTotal: true, Successful: succ, HasSuccessful: true}
	if t := got["Time taken for tests"]; t > 0 {
		c.RateSpan = time.Duration(math.Round(t * float64(time.Second)))
		c.Rate = float64(succ) / t
	}
	return c, nil
}

// locustRow is the Aggregated row of the request statistics Locust prints:
// requests, failures (and their share) | response times | req/s,
// failures/s. The percentiles table's Aggregated row has no "|".
var locustRow = regexp.MustCompile(`(?m)^[^\S\n]*Aggregated\s+(\d+)\s+(\d+)\([^)]*\)\s*\|[^|\n]*\|\s*([0-9.]+)\s+[0-9.]+[^\S\n]*$`)

// parseLocust reads the statistics Locust prints (the last table: the
// final one when it printed some on the way): the Aggregated row's request
// and failure counts and its requests per second.
func parseLocust(data []byte) (crosscheck.Claim, error) {
	ms := locustRow.FindAllSubmatch(data, -1)
	if len(ms) == 0 {
		return crosscheck.Claim{}, errors.New(`no "Aggregated" row of request statistics (did locust finish?)`)
	}
	m := ms[len(ms)-1]
	n, err1 := strconv.Atoi(string(m[1]))
	f, err2 := strconv.Atoi(string(m[2]))
	rps, err3 := strconv.ParseFloat(string(m[3]), 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return crosscheck.Claim{}, fmt.Errorf("Aggregated row: %w", err)
	}
	c := crosscheck.Claim{Total: n, HasTotal: true, Successful: max(0, n-f), HasSuccessful: true}
	if rps > 0 && n > 0 {
		// Locust's rate is every request over its span of them.
		c.RateSpan = time.Duration(float64(n) / rps * float64(time.Second))
		c.Rate = float64(c.Successful) / c.RateSpan.Seconds()
	}
	return c, nil
}
