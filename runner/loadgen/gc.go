package loadgen

// GCPercent is the garbage collector target the load generator's timing
// figures are measured with (BenchmarkTruth500, BenchmarkConstant2000): at
// hundreds of streams, collecting a quarter as often cuts the p99 of the
// delay between a chunk's arrival and its timestamp several-fold, for a
// heap at most five times the live data. Binaries that drive load apply it
// with debug.SetGCPercent unless the user set GOGC.
const GCPercent = 400
