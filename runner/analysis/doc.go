// Package analysis holds the statistics servebench judges results with:
// the Mann-Whitney U test (midranks, tie correction, normal approximation with
// continuity correction) for per-request latency samples, seeded percentile
// bootstrap confidence intervals for throughput and percentiles, the
// coefficient of variation of repeated runs with its grade, and the rule that
// flags a percentile resting on too few samples.
//
// Every function is pure: inputs are never modified (they are copied before
// sorting), randomness comes only from the seed passed in, and the same inputs
// give the same outputs. All functions are safe for concurrent use.
package analysis
