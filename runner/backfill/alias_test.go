package backfill

import "github.com/servebench/servebench/exporter/recorder"

type recorderSummary = recorder.BenchmarkSummary
