package results

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
)

// Validity holds the thresholds that flag a benchmark invalid. A zero field
// takes its default from DefaultValidity.
type Validity struct {
	// MinAchieved is the lowest achieved/target send rate of an open-loop
	// benchmark that still counts as delivering the load (default 0.97).
	MinAchieved float64
	// MaxLatenessShare is the highest p99 send lateness, as a share of the
	// figure it moves (TTFT p50, or E2E p50 without a first token), before
	// the client is judged the bottleneck (default 0.10: perf_analyzer's
	// 10 % client-overhead warning). Lateness is judged against what is
	// measured: 5 ms is noise on a 2 s TTFT and half of a 10 ms one. A
	// negative value disables the rule.
	MaxLatenessShare float64
	// MaxLatenessP99 is an absolute bound on the p99 send lateness as
	// well; 0 (the default) sets none.
	MaxLatenessP99 time.Duration
	// MinSamplesP99 is the sample count a distribution's p99 needs (default
	// 100: one sample beyond it). Other tail percentiles scale with their
	// tail: p90 needs a tenth, p95 a fifth, p99.9 ten times as many.
	// Fewer samples make that percentile absent, and say so in the notes;
	// the benchmark stays valid.
	MinSamplesP99 int
	// MaxErrorRate is the highest failed/(successful+failed) ratio
	// (default 0.01); a negative value disables the rule.
	MaxErrorRate float64
}

// DefaultMinSamplesP99 is the sample count a p99 needs unless told otherwise.
const DefaultMinSamplesP99 = 100

// DefaultValidity is the thresholds runner bench applies unless told otherwise.
func DefaultValidity() Validity {
	return Validity{MinAchieved: 0.97, MaxLatenessShare: 0.10, MinSamplesP99: DefaultMinSamplesP99, MaxErrorRate: 0.01}
}

func (v Validity) withDefaults() Validity {
	d := DefaultValidity()
	if v.MinAchieved == 0 {
		v.MinAchieved = d.MinAchieved
	}
	if v.MaxLatenessShare == 0 {
		v.MaxLatenessShare = d.MaxLatenessShare
	}
	if v.MinSamplesP99 == 0 {
		v.MinSamplesP99 = d.MinSamplesP99
	}
	if v.MaxErrorRate == 0 {
		v.MaxErrorRate = d.MaxErrorRate
	}
	return v
}

// Level describes the benchmark an Aggregator summarises.
type Level struct {
	Profile string  // pacer kind
	Level   string  // label value
	Target  float64 // req/s (open loop) or streams (closed loop)
	Open    bool    // open loop: the achieved-rate rule applies
	// Start is the benchmark's time zero: scheduled offsets, the window and
	// the throughput buckets are measured from it.
	Start time.Time
}

// Closing is what only the load generator knows when a benchmark ends.
type Closing struct {
	// The measurement window, as offsets from Level.Start, by scheduled
	// send time: requests scheduled inside it are measured.
	WindowStart, WindowEnd time.Duration
	// Scheduled is the number of sends the profile asked for inside the
	// window (open loop); the achieved rate is compared with it.
	Scheduled  int
	StopReason string // why sending stopped early, "" when it ran its course
	// Dropped is the number of open-loop sends skipped because the
	// in-flight cap was reached; InFlightCap is that cap (0 = none or
	// unknown), for the evidence of the reason.
	Dropped     int
	InFlightCap int
	// Missed holds, for every open-loop send that was due before the end of
	// sending and never went out (the client was too late), how late it was
	// when it was given up.
	Missed []time.Duration
	CPU    time.Duration // the load generator's CPU time during the benchmark
	Wall   time.Duration // wall time the CPU figure covers
}

// bucketWidth is the resolution of the throughput time series.
const bucketWidth = 10 * time.Millisecond

// Aggregator turns a benchmark's Results into its Benchmark figures. Add is
// called once per request, of every phase; Close once at the end. It is not
// safe for concurrent use.
//
// Which requests count where:
//   - latency distributions (TTFT, ITL, TPOT, E2E) use successful measured
//     requests (phase measure, i.e. scheduled inside the window), as the
//     live histograms and runner compare do; send lateness uses every
//     measured request. Failures stay visible as counts by kind, the success
//     ratio and the error-rate validity rule, never as silently better
//     percentiles;
//   - request counts by outcome are of measured requests;
//   - throughput (requests and tokens per second) counts events that happened
//     inside the window, whichever request they belong to: successful
//     completions, and the token-carrying chunks of successful and
//     incomplete streams (cut at the window or drain: their tokens did come
//     out) but not of failed ones, so a steady state is measured without
//     survivor or edge bias, and stays true when one request outlasts the
//     window;
//   - a figure with nothing to measure is absent: a distribution without a
//     sample, a tail percentile with too few samples (Validity.MinSamplesP99),
//     a rate without a window or without a single event inside it.
type Aggregator struct {
	lv Level
	v  Validity

	ttft, ttftSend, itl, itlTok, itlReq, tpot, e2e, late []float64
	trend                                                []trendPoint

	req          Requests
	overrun      int    // measured requests with more output tokens than asked
	overrunMax   [2]int // the largest overrun: tokens returned, tokens asked
	errs         map[contract.ErrorKind]int
	sources      map[string]int
	mismatch     int
	sentAt       []time.Duration // actual sends of all requests, offsets
	promptByTime []int64         // prompt tokens by send bucket
	tokens       []int64         // output tokens by arrival bucket
	doneAt       []time.Duration // successful completions' ends, offsets
	streams      []streamSpan    // requests that did not fail: send, first token, end

	// Transcriptions: real-time factors, audio milliseconds of successful
	// completions by end bucket, and the summed edits of scored requests.
	rtf        []float64
	audioMs    []int64
	audioShown bool
	words      [4]int // word edits, words, char edits, chars
	scored     int
}

// streamSpan is when a request that did not fail was sent, had its first
// token (-1: none) and ended, as offsets from time zero.
type streamSpan struct{ sent, first, end time.Duration }

type trendPoint struct {
	at   time.Duration
	ttft float64
}

// NewAggregator starts summarising one benchmark.
func NewAggregator(l Level, v Validity) *Aggregator {
	return &Aggregator{lv: l, v: v.withDefaults(), errs: map[contract.ErrorKind]int{}, sources: map[string]int{}}
}

func msec(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (a *Aggregator) bucket(t time.Time) int {
	d := t.Sub(a.lv.Start)
	if d < 0 {
		return -1 // before time zero, so before any window
	}
	return int(d / bucketWidth)
}

func addAt(s *[]int64, i int, v int64) {
	if i < 0 {
		return
	}
	if i >= len(*s) {
		if i > 1<<24 { // beyond ~46 h: drop rather than grow without bound
			return
		}
		*s = append(*s, make([]int64, i+1-len(*s)+1024)...)
	}
	(*s)[i] += v
}

// Add takes one finished request.
func (a *Aggregator) Add(r *measure.Result) {
	a.sentAt = append(a.sentAt, r.Sent.Sub(a.lv.Start))
	if r.Outcome != contract.OutcomeError {
		// Throughput is what the server delivered: the tokens of a stream
		// that failed (broken, stalled, an engine that died) are not.
		// Incomplete requests, cut by the window, count what arrived.
		addAt(&a.promptByTime, a.bucket(r.Sent), int64(r.PromptTokens))
		for _, c := range r.Chunks {
			addAt(&a.tokens, a.bucket(r.Sent.Add(c.At)), int64(c.Tokens))
		}
		sp := streamSpan{sent: r.Sent.Sub(a.lv.Start), first: -1, end: r.End.Sub(a.lv.Start)}
		if len(r.Chunks) > 0 {
			sp.first = sp.sent + r.Chunks[0].At
		}
		a.streams = append(a.streams, sp)
	}
	if r.Outcome == contract.OutcomeSuccess {
		a.doneAt = append(a.doneAt, r.End.Sub(a.lv.Start))
		if r.Audio != nil {
			addAt(&a.audioMs, a.bucket(r.End), int64(r.Audio.Seconds*1000))
		}
	}
	a.audioShown = a.audioShown || r.Audio != nil
	if r.Phase != "" && r.Phase != measure.PhaseMeasure {
		return
	}

	switch r.Outcome {
	case contract.OutcomeSuccess:
		a.req.Successful++
	case contract.OutcomeIncomplete:
		a.req.Incomplete++
	default:
		a.req.Failed++
		a.errs[r.ErrorKind]++
	}
	if r.TokenSource != "" {
		a.sources[r.TokenSource]++
	}
	if r.TokenMismatch {
		a.mismatch++
	}
	if r.Overrun() {
		a.overrun++
		if r.OutputTokens-r.MaxTokens > a.overrunMax[0]-a.overrunMax[1] {
			a.overrunMax = [2]int{r.OutputTokens, r.MaxTokens}
		}
	}
	a.late = append(a.late, msec(r.Lateness()))
	if r.Outcome != contract.OutcomeSuccess {
		return
	}
	if ttft, ok := r.TTFT(); ok {
		a.ttft = append(a.ttft, msec(ttft))
		a.ttftSend = append(a.ttftSend, msec(r.FirstTok.Sub(r.Sent)))
		a.trend = append(a.trend, trendPoint{r.Scheduled.Sub(a.lv.Start), msec(ttft)})
	}
	for i := 1; i < len(r.Chunks); i++ {
		gap := msec(r.Chunks[i].At - r.Chunks[i-1].At)
		a.itl = append(a.itl, gap)
		a.itlTok = append(a.itlTok, gap/float64(max(r.Chunks[i].Tokens, 1)))
	}
	a.e2e = append(a.e2e, msec(r.E2E()))
	if au := r.Audio; au != nil {
		if au.Seconds > 0 {
			a.rtf = append(a.rtf, r.E2E().Seconds()/au.Seconds)
		}
		if au.Scored {
			a.scored++
			a.words[0] += au.WordEdits
			a.words[1] += au.Words
			a.words[2] += au.CharEdits
			a.words[3] += au.Chars
		}
	}
	if n := len(r.Chunks); n >= 2 && r.OutputTokens > 1 {
		span := msec(r.Chunks[n-1].At - r.Chunks[0].At)
		a.itlReq = append(a.itlReq, span/float64(r.OutputTokens-1))
		a.tpot = append(a.tpot, msec(r.End.Sub(r.FirstTok))/float64(r.OutputTokens-1))
	}
}

// firstTokenShare is the share of the streams in the window (requests that
// did not fail, sent before its end and not ended before its start) that
// had their first token by its end; absent without such a stream.
func (a *Aggregator) firstTokenShare(c Closing) Figure {
	in, first := 0, 0
	for _, sp := range a.streams {
		if sp.sent >= c.WindowEnd || sp.end < c.WindowStart {
			continue
		}
		in++
		if sp.first >= 0 && sp.first < c.WindowEnd {
			first++
		}
	}
	return OfIf(float64(first)/float64(max(in, 1)), in > 0)
}

func sumRange(s []int64, from, to int) int64 {
	var n int64
	for i := max(from, 0); i < to && i < len(s); i++ {
		n += s[i]
	}
	return n
}

// Close computes the benchmark's figures and validity.
func (a *Aggregator) Close(c Closing) Benchmark {
	minP99 := a.v.MinSamplesP99
	b := Benchmark{
		Profile:    a.lv.Profile,
		Level:      a.lv.Level,
		TargetRate: a.lv.Target,
		Requests:   a.req,

		TTFT:           NewDistMin(a.ttft, minP99),
		ITL:            NewDistMin(a.itl, minP99),
		TPOT:           NewDistMin(a.tpot, minP99),
		E2E:            NewDistMin(a.e2e, minP99),
		SendLateness:   NewDistMin(a.late, minP99),
		TTFTFromSend:   NewDistMin(a.ttftSend, minP99),
		ITLPerToken:    NewDistMin(a.itlTok, minP99),
		ITLRequestMean: NewDistMin(a.itlReq, minP99),

		TokenMismatches: a.mismatch,
		OutputOverrun:   a.overrun,
		StopReason:      c.StopReason,
		Dropped:         c.Dropped,
		InvalidReasons:  []string{},
	}
	if len(c.Missed) > 0 {
		late := make([]float64, len(c.Missed))
		for i, d := range c.Missed {
			late[i] = msec(d)
		}
		b.Missed, b.MissedLateness = len(late), NewDist(late)
	}
	if len(a.errs) > 0 {
		b.Errors = a.errs
	}
	b.TokenSource = tokenSource(a.sources)
	var w window
	win := c.WindowEnd - c.WindowStart
	if win > 0 {
		w.seconds = win.Seconds()
		b.DurationSeconds = w.seconds
		sent := 0
		for _, s := range a.sentAt {
			if s >= c.WindowStart && s < c.WindowEnd {
				sent++
			}
		}
		b.AchievedRate = Of(float64(sent) / w.seconds)
		for _, d := range a.doneAt {
			if d >= c.WindowStart && d < c.WindowEnd {
				w.done++
			}
		}
		// Tokens are counted by 10 ms bucket: over the whole buckets inside
		// the window, divided by their span, so that a partial bucket at
		// either edge neither adds nor loses a share.
		lo, hi := int((c.WindowStart+bucketWidth-1)/bucketWidth), int(c.WindowEnd/bucketWidth)
		if hi <= lo { // a window of less than two buckets: the buckets it touches
			lo, hi = int(c.WindowStart/bucketWidth), int((c.WindowEnd+bucketWidth-1)/bucketWidth)
		}
		span := (time.Duration(hi-lo) * bucketWidth).Seconds()
		w.tokens = sumRange(a.tokens, lo, hi)
		w.prompt = sumRange(a.promptByTime, lo, hi)
		w.sent = sent
		if w.done > 0 {
			b.RequestsPerSecond = Of(float64(w.done) / w.seconds)
		}
		if w.tokens > 0 {
			b.OutputTokensPerSecond = Of(float64(w.tokens) / span)
		}
		if w.tokens+w.prompt > 0 {
			b.TotalTokensPerSecond = Of(float64(w.tokens+w.prompt) / span)
		}
		if a.lv.Open && c.Scheduled > 0 {
			b.ScheduledRate = Of(float64(c.Scheduled) / w.seconds)
		}
		b.FirstTokenShare = a.firstTokenShare(c)
	}
	if a.audioShown {
		b.Audio = a.audioFigures(c, win, w.done)
	}
	if done := a.req.Successful + a.req.Failed + a.req.Incomplete; done > 0 {
		b.SuccessRatio = Of(float64(a.req.Successful) / float64(done))
	}
	if c.Wall > 0 {
		b.LoadgenCPUSeconds = Of(c.CPU.Seconds())
		b.LoadgenCPUPercent = Of(100 * c.CPU.Seconds() / c.Wall.Seconds())
	}
	b.TTFTTrend = a.ttftTrend()
	a.judge(&b, c, w)
	return b
}

// audioFigures computes a transcription level's figures.
// done is the successful completions inside the window.
func (a *Aggregator) audioFigures(c Closing, win time.Duration, done int64) *AudioFigures {
	f := &AudioFigures{RTF: NewDist(a.rtf), Scored: a.scored,
		WordEdits: a.words[0], Words: a.words[1], CharEdits: a.words[2], Chars: a.words[3]}
	ratio := func(n, d int) *float64 {
		if d == 0 {
			return nil
		}
		v := float64(n) / float64(d)
		return &v
	}
	f.WER, f.CER = ratio(a.words[0], a.words[1]), ratio(a.words[2], a.words[3])
	if win > 0 {
		lo, hi := int(c.WindowStart/bucketWidth), int(c.WindowEnd/bucketWidth)
		f.AudioSeconds = float64(sumRange(a.audioMs, lo, hi)) / 1000
		hours := f.AudioSeconds / win.Seconds()
		files := float64(done) * 3600 / win.Seconds()
		f.AudioHoursPerHour, f.FilesPerHour = &hours, &files
	}
	return f
}

// window is what happened inside the measurement window.
type window struct {
	seconds              float64 // 0: no window
	sent                 int     // actual sends
	done, tokens, prompt int64   // successful completions, output and prompt tokens
}

// ttftTrend is the median TTFT of the last third of the window's requests
// (by schedule) over that of the first third: a growing queue shows as a
// ratio well above 1 even when the rate still looks delivered. Absent with
// fewer than 9 requests.
func (a *Aggregator) ttftTrend() Figure {
	n := len(a.trend)
	if n < 9 {
		return Figure{}
	}
	sort.Slice(a.trend, func(i, j int) bool { return a.trend[i].at < a.trend[j].at })
	third := n / 3
	med := func(p []trendPoint) Figure {
		v := make([]float64, len(p))
		for i := range p {
			v[i] = p[i].ttft
		}
		return NewDist(v).P50
	}
	return Ratio(med(a.trend[n-third:]), med(a.trend[:third]))
}

// judge sets Valid and InvalidReasons, each reason naming the component at
// fault, and notes the figures withheld for too few samples. A benchmark is
// invalid only when its headline figures (throughput, p50 latencies) are:
// a withheld tail percentile is a note, not a verdict.
func (a *Aggregator) judge(b *Benchmark, c Closing, w window) {
	v := a.v
	add := func(format string, args ...any) {
		b.InvalidReasons = append(b.InvalidReasons, fmt.Sprintf(format, args...))
	}
	// Sends the client did not make on time. Drops at the in-flight cap
	// are the server's: requests piled up because they were slow.
	if ach, ok := b.AchievedRate.Get(); ok && a.lv.Open {
		if sched, ok := b.ScheduledRate.Get(); ok && ach < v.MinAchieved*sched {
			short := (sched - ach) * w.seconds
			if float64(b.Dropped) < short {
				add("client-bound: achieved %.4g req/s is below %.0f%% of the %.4g req/s scheduled", ach, 100*v.MinAchieved, sched)
			}
		}
	}
	if b.Dropped > 0 {
		add("%s", saturatedByCap(b, c.InFlightCap))
	}
	if b.Missed > 0 {
		add("client-bound: %d sends due before the end of sending never went out (up to %.4g ms late when given up)", b.Missed, b.MissedLateness.Max)
	}
	if late, pct, ok := tail(b.SendLateness); ok {
		ref, name := b.TTFT.P50, "TTFT p50"
		if !ref.Present() {
			ref, name = b.E2E.P50, "E2E p50"
		}
		if r, ok := ref.Get(); ok && r > 0 && v.MaxLatenessShare > 0 && late > v.MaxLatenessShare*r {
			add("client-bound: %s send lateness %.3g ms is %.0f%% of the %s (%.4g ms), above the %.0f%% a figure tolerates; the server kept up, the sender did not",
				pct, late, 100*late/r, name, r, 100*v.MaxLatenessShare)
		} else if v.MaxLatenessP99 > 0 && late > msec(v.MaxLatenessP99) {
			add("client-bound: %s send lateness %.3g ms is above %.3g ms", pct, late, msec(v.MaxLatenessP99))
		}
	}
	if judged := a.req.Successful + a.req.Failed; v.MaxErrorRate >= 0 && judged > 0 {
		if rate := float64(a.req.Failed) / float64(judged); rate > v.MaxErrorRate {
			add("error rate %.2f%% is above %.2f%%", 100*rate, 100*v.MaxErrorRate)
		}
	}
	if a.overrun > 0 {
		add("output overrun: %d of %d requests returned more output tokens than asked (up to %d for %d): the server ignored the requested length, so the workload was not the one configured",
			a.overrun, a.req.Successful+a.req.Failed+a.req.Incomplete, a.overrunMax[0], a.overrunMax[1])
	}
	switch {
	case a.req == Requests{} && a.lv.Open && c.Scheduled == 0 && w.seconds > 0 && a.lv.Target > 0:
		// Nothing to measure: say why rather than blame the server.
		add("no request measured: at %.4g req/s the profile scheduled none inside the %.3g s window", a.lv.Target, w.seconds)
	case a.req == Requests{}:
		add("no request measured")
	case a.req.Successful == 0:
		add("no successful request")
	}
	if w.seconds > 0 && w.done == 0 && (a.req.Successful > 0 || a.req.Incomplete > 0) {
		add("%s", windowTooShort(b, w, len(a.doneAt)))
	}
	if b.StopReason != "" {
		add("stopped early: %s", b.StopReason)
	}
	if n := withheldNote(b, v.MinSamplesP99); n != "" {
		b.Notes = append(b.Notes, n)
	}
	if w.done > 0 && w.done < fewCompletions {
		b.Notes = append(b.Notes, fmt.Sprintf("requests_per_second rests on %d completions inside the window (±1 is %.0f%%); output_tokens_per_second is the steadier figure",
			w.done, 100/float64(w.done)))
	}
	b.Valid = len(b.InvalidReasons) == 0
}

// fewCompletions is the count of completions inside the window below which
// a note says the request rate is coarse.
const fewCompletions = 10

// tail is the p99 of a distribution, or with too few samples for it the
// highest percentile they support (p95, p90), else the maximum: the client's
// lateness is judged on its tail whatever the sample size, never skipped.
func tail(d Dist) (float64, string, bool) {
	for _, p := range []struct {
		f    Figure
		name string
	}{{d.P99, "p99"}, {d.P95, "p95"}, {d.P90, "p90"}, {d.Max, "max"}} {
		if v, ok := p.f.Get(); ok {
			return v, p.name, true
		}
	}
	return 0, "", false
}

// saturatedByCap explains drops at the in-flight cap with Little's law: the
// concurrency the scheduled rate needs at the latency the server gave.
func saturatedByCap(b *Benchmark, inflightCap int) string {
	capText := "the in-flight cap"
	if inflightCap > 0 {
		capText = fmt.Sprintf("the in-flight cap of %d", inflightCap)
	}
	msg := fmt.Sprintf("server saturated: %d sends dropped at %s", b.Dropped, capText)
	rate := b.ScheduledRate
	if !rate.Present() {
		rate = Of(b.TargetRate)
	}
	r, rok := rate.Get()
	e2e, eok := b.E2E.P50.Get()
	if !rok || !eok || r <= 0 {
		return msg
	}
	need := r * e2e / 1000
	msg += fmt.Sprintf(": at %.4g req/s with E2E p50 %s the load needs ≈ %.0f requests in flight (Little's law)", r, ms(e2e), need)
	if ttft, ok := b.TTFT.P50.Get(); ok {
		msg += fmt.Sprintf("; TTFT p50 %s", ms(ttft))
	}
	if done, ok := b.RequestsPerSecond.Get(); ok {
		msg += fmt.Sprintf("; %.4g req/s completed", done)
	}
	if inflightCap > 0 && need <= float64(inflightCap) {
		msg += "; the cap was reached in bursts"
	}
	return msg
}

// windowTooShort says why no request completed inside the window.
func windowTooShort(b *Benchmark, w window, doneAll int) string {
	msg := fmt.Sprintf("window shorter than one request: no request completed inside the %.3g s window", w.seconds)
	switch e2e, ok := b.E2E.P50.Get(); {
	case ok:
		msg += fmt.Sprintf("; %d completed after it, E2E p50 %s", doneAll, ms(e2e))
	case b.Requests.Incomplete > 0:
		msg += fmt.Sprintf("; %d requests were cut unfinished", b.Requests.Incomplete)
	}
	if w.tokens == 0 {
		msg += "; no output token arrived inside it"
	}
	return msg
}

func ms(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.3g s", v/1000)
	}
	return fmt.Sprintf("%.3g ms", v)
}

// withheldNote names the latency percentiles left absent for too few
// samples, with their counts, or is "" when none was.
func withheldNote(b *Benchmark, minP99 int) string {
	var parts []string
	for _, d := range []struct {
		name string
		d    Dist
	}{{"ttft_ms", b.TTFT}, {"itl_ms", b.ITL}, {"tpot_ms", b.TPOT}, {"e2e_ms", b.E2E}, {"send_lateness_ms", b.SendLateness}} {
		if w := withheld(d.d.Count, minP99); len(w) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s (%d samples)", d.name, strings.Join(w, ", "), d.d.Count))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("too few samples, percentiles left null: %s; p90 needs %d samples, p95 %d, p99 %d, p99.9 %d",
		strings.Join(parts, "; "), needSamples(0.90, minP99), needSamples(0.95, minP99), needSamples(0.99, minP99), needSamples(0.999, minP99))
}

func tokenSource(m map[string]int) string {
	switch len(m) {
	case 0:
		return ""
	case 1:
		for k := range m {
			return k
		}
	}
	return "mixed"
}

// NewDist summarises samples (it sorts them in place) with the default
// sample rule, DefaultMinSamplesP99: see NewDistMin.
func NewDist(s []float64) Dist { return NewDistMin(s, DefaultMinSamplesP99) }

// NewDistMin summarises samples (it sorts them in place). Percentiles
// interpolate linearly between closest ranks (numpy's default). An empty
// sample gives the empty Dist (every figure absent). A tail percentile
// needs enough samples to lie beyond it: p99 needs minP99, p90 a tenth of
// that, p95 a fifth, p99.9 ten times as many; with fewer it is absent.
// The mean, p50 and max need one sample.
func NewDistMin(s []float64, minP99 int) Dist {
	n := len(s)
	if n == 0 {
		return Dist{}
	}
	sort.Float64s(s)
	var sum float64
	for _, v := range s {
		sum += v
	}
	q := func(p float64) Figure { return OfIf(quantile(s, p), n >= needSamples(p, minP99)) }
	return Dist{Mean: Of(sum / float64(n)), P50: Of(quantile(s, 0.5)), P90: q(0.90), P95: q(0.95),
		P99: q(0.99), P999: q(0.999), Max: Of(s[n-1]), Count: n}
}

// needSamples is the sample count percentile p needs when a p99 needs
// minP99: minP99 × 1 % / (1 − p), rounded up; the p50 needs one.
func needSamples(p float64, minP99 int) int {
	switch p {
	case 0.90:
		return (minP99 + 9) / 10
	case 0.95:
		return (minP99 + 4) / 5
	case 0.99:
		return minP99
	case 0.999:
		return 10 * minP99
	}
	return 1
}

// withheld lists the tail percentiles n samples cannot support.
func withheld(n, minP99 int) []string {
	if n == 0 {
		return nil
	}
	var out []string
	for _, p := range []struct {
		name string
		q    float64
	}{{"p90", 0.90}, {"p95", 0.95}, {"p99", 0.99}, {"p99.9", 0.999}} {
		if n < needSamples(p.q, minP99) {
			out = append(out, p.name)
		}
	}
	return out
}

// quantile of sorted s with linear interpolation.
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	i := int(math.Floor(pos))
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i] + f*(s[i+1]-s[i])
}

// AudioOf computes a transcription benchmark's figures from request records
// that come without a window (a third-party tool's report): the real-time
// factor of every successful record with audio, its audio and count over
// the benchmark's seconds, and error rates from the records it scored
// (none when the tool keeps no transcript). Nil when no record has audio.
func AudioOf(rs []measure.Result, seconds float64) *AudioFigures {
	a := &Aggregator{}
	done := 0
	for i := range rs {
		r := &rs[i]
		if r.Audio == nil {
			continue
		}
		a.audioShown = true
		if r.Outcome != contract.OutcomeSuccess {
			continue
		}
		done++
		addAt(&a.audioMs, 0, int64(r.Audio.Seconds*1000))
		if r.Audio.Seconds > 0 && !r.End.IsZero() {
			a.rtf = append(a.rtf, r.E2E().Seconds()/r.Audio.Seconds)
		}
		if r.Audio.Scored {
			a.scored++
			a.words[0] += r.Audio.WordEdits
			a.words[1] += r.Audio.Words
			a.words[2] += r.Audio.CharEdits
			a.words[3] += r.Audio.Chars
		}
	}
	if !a.audioShown {
		return nil
	}
	win := time.Duration(seconds * float64(time.Second))
	return a.audioFigures(Closing{WindowStart: 0, WindowEnd: max(win, bucketWidth)}, win, int64(done))
}
