// Package analysis holds the statistics servebench judges results with.
//
// Between runs — the evidence a verdict rests on: the variance of a metric's
// logarithm over repeated runs (LogVariance, Pool, with its degrees of
// freedom), Student's t test of two sides' per-run figures against it
// (TestRuns: change, interval, p-value and minimal detectable effect), the F
// test that tells a stale stored variance (VarianceRatioP), the coefficient
// of variation of repeated runs with its grade, and the Benjamini-Hochberg
// adjustment of a family of p-values (AdjustBH).
//
// Within a run — support for a verdict: the Mann-Whitney U test (midranks,
// tie correction, normal approximation with continuity correction) for
// per-request latency samples, seeded percentile bootstrap intervals (plain
// and clustered by request), the bootstrap variance of a statistic's
// logarithm, and the rule that flags a percentile resting on too few
// samples.
//
// The distribution functions they need (Student's t, F, the normal, the
// regularized incomplete beta and gamma functions) are here too.
//
// Every function is pure: inputs are never modified (they are copied before
// sorting), randomness comes only from the seed passed in, and the same inputs
// give the same outputs. All functions are safe for concurrent use.
package analysis
