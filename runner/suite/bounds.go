package suite

import "github.com/servebench/servebench/internal/bounds"

// Bounds are the allowed ranges of every numeric setting of a suite, named
// as a suite file names them (with the flag and environment variable that
// set the same value). Suite.Validate checks a file with them and Resolve
// checks the resolved configuration, so a value is accepted or refused the
// same way whichever layer gave it. The maxima shared with the load
// generator are internal/bounds'.
var Bounds = struct {
	Cores, MaxSeconds, MaxRequests, Warmup, Cooldown, RequestTimeout bounds.Range
	DrainTimeout, StreamIdleTimeout                                  bounds.Range
	Streams, Rate, NeighbourCores, Instances, Repeat, TP, NUMANode   bounds.Range
}{
	Cores:      bounds.Range{Name: "cores", Also: "--cores, SERVEBENCH_CORES", Min: 1, Max: bounds.MaxCores, Whole: true},
	MaxSeconds: bounds.Range{Name: "limits.max_seconds", Also: "--max-seconds, SERVEBENCH_MAX_SECONDS", Min: 0, Max: bounds.MaxSeconds, Unit: "seconds"},
	MaxRequests: bounds.Range{Name: "limits.max_requests", Also: "--max-requests, SERVEBENCH_MAX_REQUESTS", Min: 0, Max: bounds.MaxCount,
		Whole: true, Note: "0 = no count limit"},
	Warmup:   bounds.Range{Name: "limits.warmup_seconds", Min: 0, Max: bounds.MaxSeconds, Unit: "seconds", Note: "below 1 a fraction of max_seconds"},
	Cooldown: bounds.Range{Name: "limits.cooldown_seconds", Min: 0, Max: bounds.MaxSeconds, Unit: "seconds", Note: "below 1 a fraction of max_seconds"},
	RequestTimeout: bounds.Range{Name: "limits.request_timeout_seconds", Min: 0, Max: bounds.MaxTimeoutSeconds, Unit: "seconds",
		Note: "0 = the default"},
	DrainTimeout: bounds.Range{Name: "limits.drain_timeout_seconds", Also: "--drain-timeout, SERVEBENCH_DRAIN_TIMEOUT", Min: 0, Max: bounds.MaxTimeoutSeconds,
		Unit: "seconds", Note: "0 = the default"},
	StreamIdleTimeout: bounds.Range{Name: "limits.stream_idle_timeout_seconds", Also: "--stream-idle-timeout, SERVEBENCH_STREAM_IDLE_TIMEOUT", Min: 0,
		Max: bounds.MaxTimeoutSeconds, Unit: "seconds", Note: "0 from a flag or the environment = never"},
	Streams:        bounds.Range{Name: "levels", Min: 1, Max: bounds.MaxStreams, Whole: true, Unit: "streams"},
	Rate:           bounds.Range{Name: "levels", Min: 0, MinOpen: true, Max: bounds.MaxRate, Unit: "req/s"},
	NeighbourCores: bounds.Range{Name: "contention.neighbour_cores", Min: 0, Max: bounds.MaxCores, Whole: true, Note: "0 = automatic"},
	Instances:      bounds.Range{Name: "contention.instances", Min: 2, Max: 64, Whole: true},
	Repeat:         bounds.Range{Name: "repeat", Also: "--repeat, SERVEBENCH_REPEAT", Min: 0, Max: 1000, Whole: true, Note: "0 = once"},
	TP:             bounds.Range{Name: "tp", Also: "--tp", Min: 0, Max: 1024, Whole: true, Note: "0 = automatic"},
	NUMANode:       bounds.Range{Name: "numa-node", Also: "--numa-node", Min: -1, Max: 1023, Whole: true, Note: "-1 = automatic"},
}
