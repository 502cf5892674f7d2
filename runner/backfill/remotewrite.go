package backfill

import "github.com/servebench/servebench/exporter/push"

// RemoteWrite sends summary families to a Prometheus remote-write receiver
// with their own timestamps: push.RemoteWrite, the runner's own push path.
// Prometheus takes samples older than its head block only within its
// storage.tsdb.out_of_order_time_window; for archives use WriteOpenMetrics
// and promtool instead.
type RemoteWrite = push.RemoteWrite
