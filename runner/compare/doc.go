// Package compare judges whether one set of benchmark results is faster or
// slower than another, on the evidence of run-to-run variation rather than
// on one noisy run.
//
// For every load level present on both sides it gives a verdict per metric —
// improved, regressed, no significant change, inconclusive, or not tested
// when the data a test needs is absent — and the report an outcome:
// regression, inconclusive or no regression (Report.Err wraps ErrRegression
// or ErrInconclusive).
//
// The decision is made on per-run figures (throughput, p50s and p99s of
// summary.json): Student's t test on their logarithms, the run-to-run
// variance pooled from both sides' repeats and a stored noise floor of the
// same configuration and host (Floor). With neither, the variance is the
// default floor (DefaultFloorCV) plus each run's own sampling variance, and
// a change must also be confirmed by the within-run test, or it is
// inconclusive; a p99 without repeats or a floor is inconclusive. The within-run tests on the pooled
// per-request samples of requests.jsonl — Mann-Whitney U for medians (ITL on
// each request's median gap), a bootstrap of the p99 difference (ITL
// resampling whole requests), time windows for the throughput of single runs
// — support or contradict a verdict and never decide it alone. The p-values
// of one comparison are adjusted together (Benjamini-Hochberg), so that two
// samples of one configuration are called a regression with probability at
// most Alpha. Each run-level test states its minimal detectable effect; a
// primary metric (throughput, medians) whose test could not detect MaxMDE is
// inconclusive. The success rate is a two-proportion z test on the counts.
//
// A level where a side was client-bound (our load generator, not the server,
// limited it) is inconclusive as a whole; one invalid for another reason
// (errors, an early stop) is inconclusive but for its success rate. Sides
// measured on different hardware, models, workloads, cores or load
// generators are refused with ErrMismatch unless Options.Force is set. Cross
// builds the cross-validation table of one cell measured by several load
// generators; Cost gives tokens/s per core and the price of a million output
// tokens.
//
// Functions here are pure apart from Loader, ReadFloor and Floor.Write,
// which read and write files; results are deterministic for a given
// Options.Seed.
package compare
