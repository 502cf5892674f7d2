// Package compare judges whether one set of benchmark results is faster or
// slower than another, on evidence rather than on one noisy run.
//
// For every load level present on both sides it gives a verdict per metric —
// improved, regressed, no significant change, or not tested when neither side
// kept the data a test needs:
//
//   - latency medians: Mann-Whitney U on the per-request samples of
//     requests.jsonl, taken as summary.json takes them; for ITL, whose gaps
//     are correlated within a request, on each request's median gap;
//   - latency p99: a seeded bootstrap interval of the difference of p99s
//     (for ITL resampling whole requests), only when both sides have enough
//     samples for a p99 (analysis.MinSamplesFor);
//   - throughput (requests and tokens per second): a seeded bootstrap interval
//     of the difference, over repeated runs when each side has at least two,
//     else over equal time windows of the per-request completions;
//   - success rate: a two-proportion z-test on the request counts;
//   - validity: a side that turned invalid is a regression.
//
// Bootstrap intervals are at 1-Alpha. A difference counts only when it is
// both significant at Alpha and larger than MinChange (relative) and, with
// repeats, than the runs' own coefficient of variation (the noise floor). Sides measured on different
// hardware, models, workloads, cores or load generators are refused with
// ErrMismatch unless Options.Force is set. Cross builds the cross-validation
// table of one cell measured by several load generators; Cost gives tokens/s
// per core and the price of a million output tokens.
//
// Functions here are pure apart from Loader, which reads files; results are
// deterministic for a given Options.Seed.
package compare
