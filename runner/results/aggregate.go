package results

import (
	"fmt"
	"math"
	"sort"
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
	// MaxLatenessP99 is the highest p99 send lateness before the client is
	// judged the bottleneck (default 1 ms).
	MaxLatenessP99 time.Duration
	// MinSamplesP99 is the TTFT sample count a p99 needs (default 1000,
	// as in IETF benchmarking practice); p99.9 needs ten times as many and
	// only adds a note.
	MinSamplesP99 int
	// MaxErrorRate is the highest failed/(successful+failed) ratio
	// (default 0.01); a negative value disables the rule.
	MaxErrorRate float64
}

// DefaultValidity is the thresholds runner bench applies unless told otherwise.
func DefaultValidity() Validity {
	return Validity{MinAchieved: 0.97, MaxLatenessP99: time.Millisecond, MinSamplesP99: 1000, MaxErrorRate: 0.01}
}

func (v Validity) withDefaults() Validity {
	d := DefaultValidity()
	if v.MinAchieved == 0 {
		v.MinAchieved = d.MinAchieved
	}
	if v.MaxLatenessP99 == 0 {
		v.MaxLatenessP99 = d.MaxLatenessP99
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
	// in-flight cap was reached.
	Dropped int
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
//     completions and token-carrying chunks, so a steady state is measured
//     without survivor or edge bias.
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
	done         []int64         // successful completions by end bucket

	// Transcriptions: real-time factors, audio milliseconds of successful
	// completions by end bucket, and the summed edits of scored requests.
	rtf        []float64
	audioMs    []int64
	audioShown bool
	words      [4]int // word edits, words, char edits, chars
	scored     int
}

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
	}
	if r.Outcome == contract.OutcomeSuccess {
		addAt(&a.done, a.bucket(r.End), 1)
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

func sumRange(s []int64, from, to int) int64 {
	var n int64
	for i := max(from, 0); i < to && i < len(s); i++ {
		n += s[i]
	}
	return n
}

// Close computes the benchmark's figures and validity.
func (a *Aggregator) Close(c Closing) Benchmark {
	b := Benchmark{
		Profile:    a.lv.Profile,
		Level:      a.lv.Level,
		TargetRate: a.lv.Target,
		Requests:   a.req,

		TTFT:           NewDist(a.ttft),
		ITL:            NewDist(a.itl),
		TPOT:           NewDist(a.tpot),
		E2E:            NewDist(a.e2e),
		SendLateness:   NewDist(a.late),
		TTFTFromSend:   NewDist(a.ttftSend),
		ITLPerToken:    NewDist(a.itlTok),
		ITLRequestMean: NewDist(a.itlReq),

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
	win := c.WindowEnd - c.WindowStart
	if win > 0 {
		b.DurationSeconds = win.Seconds()
		sent := 0
		for _, s := range a.sentAt {
			if s >= c.WindowStart && s < c.WindowEnd {
				sent++
			}
		}
		b.AchievedRate = float64(sent) / win.Seconds()
		lo, hi := int(c.WindowStart/bucketWidth), int(c.WindowEnd/bucketWidth)
		b.RequestsPerSecond = float64(sumRange(a.done, lo, hi)) / win.Seconds()
		out := float64(sumRange(a.tokens, lo, hi)) / win.Seconds()
		b.OutputTokensPerSecond = out
		b.TotalTokensPerSecond = out + float64(sumRange(a.promptByTime, lo, hi))/win.Seconds()
		if a.lv.Open && c.Scheduled > 0 {
			b.ScheduledRate = float64(c.Scheduled) / win.Seconds()
		}
	}
	if a.audioShown {
		b.Audio = a.audioFigures(c, win)
	}
	if done := a.req.Successful + a.req.Failed + a.req.Incomplete; done > 0 {
		b.SuccessRatio = float64(a.req.Successful) / float64(done)
	}
	if c.Wall > 0 {
		b.LoadgenCPUSeconds = c.CPU.Seconds()
		b.LoadgenCPUPercent = 100 * c.CPU.Seconds() / c.Wall.Seconds()
	}
	b.TTFTTrend = a.ttftTrend()
	a.judge(&b)
	return b
}

// audioFigures computes a transcription level's figures.
func (a *Aggregator) audioFigures(c Closing, win time.Duration) *AudioFigures {
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
		files := float64(sumRange(a.done, lo, hi)) * 3600 / win.Seconds()
		f.AudioHoursPerHour, f.FilesPerHour = &hours, &files
	}
	return f
}

// ttftTrend is the median TTFT of the last third of the window's requests
// (by schedule) over that of the first third: a growing queue shows as a
// ratio well above 1 even when the rate still looks delivered.
func (a *Aggregator) ttftTrend() float64 {
	n := len(a.trend)
	if n < 9 {
		return 0
	}
	sort.Slice(a.trend, func(i, j int) bool { return a.trend[i].at < a.trend[j].at })
	third := n / 3
	med := func(p []trendPoint) float64 {
		v := make([]float64, len(p))
		for i := range p {
			v[i] = p[i].ttft
		}
		return NewDist(v).P50
	}
	first, last := med(a.trend[:third]), med(a.trend[n-third:])
	if first <= 0 {
		return 0
	}
	return last / first
}

func (a *Aggregator) judge(b *Benchmark) {
	v := a.v
	add := func(format string, args ...any) {
		b.InvalidReasons = append(b.InvalidReasons, fmt.Sprintf(format, args...))
	}
	if a.lv.Open && b.ScheduledRate > 0 && b.AchievedRate < v.MinAchieved*b.ScheduledRate {
		add("client-bound: achieved %.4g req/s is below %.0f%% of the %.4g req/s scheduled", b.AchievedRate, 100*v.MinAchieved, b.ScheduledRate)
	}
	if b.Dropped > 0 {
		add("client-bound: %d sends dropped at the in-flight cap", b.Dropped)
	}
	if b.Missed > 0 {
		add("client-bound: %d sends due before the end of sending never went out (up to %.4g ms late when given up)", b.Missed, b.MissedLateness.Max)
	}
	if b.SendLateness.Count > 0 && b.SendLateness.P99 > msec(v.MaxLatenessP99) {
		add("client-bound: p99 send lateness %.3g ms is above %.3g ms", b.SendLateness.P99, msec(v.MaxLatenessP99))
	}
	if b.TTFT.Count < v.MinSamplesP99 {
		add("too few samples: %d TTFT samples, p99 needs %d", b.TTFT.Count, v.MinSamplesP99)
	} else if b.TTFT.Count < 10*v.MinSamplesP99 {
		b.Notes = append(b.Notes, fmt.Sprintf("p99.9 from %d samples (needs %d) is indicative only", b.TTFT.Count, 10*v.MinSamplesP99))
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
	if a.req.Successful == 0 {
		add("no successful request")
	}
	if b.StopReason != "" {
		add("stopped early: %s", b.StopReason)
	}
	b.Valid = len(b.InvalidReasons) == 0
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

// NewDist summarises samples (it sorts them in place). Percentiles
// interpolate linearly between closest ranks (numpy's default); an empty
// sample gives the zero Dist.
func NewDist(s []float64) Dist {
	n := len(s)
	if n == 0 {
		return Dist{}
	}
	sort.Float64s(s)
	var sum float64
	for _, v := range s {
		sum += v
	}
	return Dist{Mean: sum / float64(n), P50: quantile(s, 0.5), P90: quantile(s, 0.9), P95: quantile(s, 0.95),
		P99: quantile(s, 0.99), P999: quantile(s, 0.999), Max: s[n-1], Count: n}
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
	addAt(&a.done, 0, int64(done))
	win := time.Duration(seconds * float64(time.Second))
	return a.audioFigures(Closing{WindowStart: 0, WindowEnd: max(win, bucketWidth)}, win)
}
