package orchestrate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/suite"
)

// OfflineBatch runs an offline suite's cells: `vllm bench throughput` with
// the cell's use case and engine arguments, in a container through the
// docker driver (the engine's image, pinning and environment; the
// simulator's image answers the same command line), or in-process from the
// simulator's performance model. It implements LoadGenerator for the
// orchestrator; each cell's one level is the whole batch, and its figures
// come from the tool's --output-json file and result lines.
type OfflineBatch struct {
	// Docker runs the batch in a container; nil = the in-process simulator.
	Docker *engine.Docker
	// Datasets is the directory holding the datasets use cases name
	// (suite.Datasets: ShareGPT_V3_unfiltered_cleaned_split.json,
	// sonnet.txt); mounted read-only in the container.
	Datasets string
	Log      *slog.Logger
}

// OfflineLoadgen is the load generator name offline cells record.
const OfflineLoadgen = "vllm-bench-throughput"

// Name implements LoadGenerator.
func (*OfflineBatch) Name() string { return OfflineLoadgen }

// Version implements LoadGenerator: the engine image's vllm.
func (b *OfflineBatch) Version() string {
	if b.Docker == nil {
		return "simulator"
	}
	return "engine image"
}

// ThroughputArgs are the arguments after `vllm` for a cell's use case: the
// benchmark's options, then the engine's (the cell's engine arguments, and
// bfloat16 as the engine is served with). dataset is where the use case's
// dataset file is as the command sees it ("" when it needs none); out where
// it writes its JSON.
func ThroughputArgs(u suite.UseCase, spec engine.Spec, dataset, out string, seed uint64) []string {
	args := []string{"bench", "throughput", "--model", spec.Model, "--dataset-name", u.Dataset, "--num-prompts", strconv.Itoa(u.Prompts)}
	if dataset != "" {
		args = append(args, "--dataset-path", dataset)
	}
	for _, f := range []struct {
		flag string
		v    int
	}{{"--input-len", u.InputLen}, {"--output-len", u.OutputLen}, {"--prefix-len", u.PrefixLen}} {
		if f.v > 0 {
			args = append(args, f.flag, strconv.Itoa(f.v))
		}
	}
	args = append(args, "--seed", strconv.FormatUint(seed%(1<<31), 10), "--output-json", out)
	args = append(args, spec.ExtraArgs...)
	return append(args, "--dtype", "bfloat16")
}

// Run implements LoadGenerator: it runs the batch of req's cell with the
// engine spec req.Engine and returns the batch as one benchmark.
func (b *OfflineBatch) Run(ctx context.Context, req LoadRequest, rec measure.Recorder) (results.Benchmark, error) {
	if req.Engine == nil {
		return results.Benchmark{}, errors.New("offline batch: no engine spec for the cell")
	}
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, ok := req.Suite.UseCase(req.Cell.Workload)
	if !ok {
		return results.Benchmark{}, fmt.Errorf("offline batch: suite has no use case %s", req.Cell.Workload)
	}
	spec := *req.Engine
	out := filepath.Join(req.LogDir, "offline")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return results.Benchmark{}, err
	}
	// The container's user (the image's) writes its JSON here.
	if err := os.Chmod(out, 0o777); err != nil {
		return results.Benchmark{}, err
	}
	dataset := ""
	if file := suite.Datasets[u.Dataset]; file != "" {
		if b.Datasets == "" {
			return results.Benchmark{}, fmt.Errorf("use case %s reads the %s dataset: set SERVEBENCH_DATASETS to the directory holding %s", u.Name, u.Dataset, file)
		}
		dataset = filepath.Join(b.Datasets, file)
		if _, err := os.Stat(dataset); err != nil {
			return results.Benchmark{}, fmt.Errorf("use case %s: dataset %s: %w", u.Name, u.Dataset, err)
		}
	}
	jsonFile := "batch.json"
	var stdout bytes.Buffer
	started := time.Now()
	var err error
	if b.Docker != nil {
		ds := ""
		if dataset != "" {
			abs, aerr := filepath.Abs(b.Datasets)
			if aerr != nil {
				return results.Benchmark{}, aerr
			}
			spec.Binds = append(spec.Binds, abs+":/datasets:ro")
			ds = "/datasets/" + filepath.Base(dataset)
		}
		absOut, aerr := filepath.Abs(out)
		if aerr != nil {
			return results.Benchmark{}, aerr
		}
		spec.Binds = append(spec.Binds, absOut+":/results")
		spec.Command = append([]string{"vllm"}, ThroughputArgs(u, spec, ds, "/results/"+jsonFile, req.Seed)...)
		log.Info("offline batch in a container", "cell", req.Cell.ID, "command", fmt.Sprint(spec.Command))
		var info engine.Info
		info, err = b.Docker.RunCommand(ctx, spec)
		if req.EngineInfo != nil {
			*req.EngineInfo = info
		}
		if info.LogPath != "" {
			if lb, rerr := os.ReadFile(info.LogPath); rerr == nil {
				stdout.Write(lb)
			}
		}
	} else {
		args := ThroughputArgs(u, spec, dataset, filepath.Join(out, jsonFile), req.Seed)
		log.Info("offline batch on the simulator", "cell", req.Cell.ID, "args", fmt.Sprint(args))
		getenv := func(k string) string {
			if k == "VLLM_CPU_KVCACHE_SPACE" && spec.KVCacheGiB > 0 {
				return strconv.FormatFloat(spec.KVCacheGiB, 'f', -1, 64)
			}
			return ""
		}
		var logw io.Writer = io.Discard
		if lf, lerr := os.Create(filepath.Join(req.LogDir, "vllm-bench-throughput.log")); lerr == nil {
			defer lf.Close()
			logw = lf
		}
		err = simulator.BenchThroughput(args[2:], getenv, len(spec.CPUs), io.MultiWriter(&stdout, logw), logw)
		if req.EngineInfo != nil {
			*req.EngineInfo = engine.Info{Driver: "sim", Model: spec.Model, ModelRoot: spec.Model, Labels: spec.Labels,
				Env: map[string]string{"cores": strconv.Itoa(len(spec.CPUs))}, LogPath: filepath.Join(req.LogDir, "vllm-bench-throughput.log")}
		}
	}
	if err != nil {
		return results.Benchmark{}, fmt.Errorf("vllm bench throughput: %w", err)
	}
	bm, err := parseThroughput(filepath.Join(out, jsonFile), stdout.Bytes())
	if err != nil {
		return results.Benchmark{}, err
	}
	bm.Level = req.Level.Name
	log.Info("offline batch finished", "cell", req.Cell.ID, "requests_per_second", bm.RequestsPerSecond, "wall", time.Since(started))
	return bm, nil
}

// throughputLine is vLLM's result line; the token totals follow it.
var (
	throughputLine = regexp.MustCompile(`Throughput: ([0-9.]+) requests/s, ([0-9.]+) total tokens/s, ([0-9.]+) output tokens/s`)
	promptLine     = regexp.MustCompile(`Total num prompt tokens:\s+([0-9]+)`)
	outputLine     = regexp.MustCompile(`Total num output tokens:\s+([0-9]+)`)
)

// parseThroughput reads vllm bench throughput's --output-json (elapsed
// time, requests, total tokens and their rates) and, from its output, the
// output tokens/s and token totals the JSON lacks (absent when the output
// has no such line: older vLLM prints no output rate).
func parseThroughput(path string, output []byte) (results.Benchmark, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return results.Benchmark{}, fmt.Errorf("vllm bench throughput wrote no results: %w", err)
	}
	var j struct {
		Elapsed           *float64 `json:"elapsed_time"`
		NumRequests       *int     `json:"num_requests"`
		TotalNumTokens    *int     `json:"total_num_tokens"`
		RequestsPerSecond *float64 `json:"requests_per_second"`
		TokensPerSecond   *float64 `json:"tokens_per_second"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return results.Benchmark{}, fmt.Errorf("%s: %w", path, err)
	}
	if j.Elapsed == nil || j.NumRequests == nil || j.RequestsPerSecond == nil || j.TokensPerSecond == nil || *j.Elapsed <= 0 {
		return results.Benchmark{}, fmt.Errorf("%s: missing elapsed_time, num_requests or the rates: %.200s", path, raw)
	}
	off := &results.OfflineFigures{ElapsedSeconds: *j.Elapsed, Requests: *j.NumRequests, TotalTokens: j.TotalNumTokens,
		RequestsPerSecond: *j.RequestsPerSecond, TokensPerSecond: *j.TokensPerSecond}
	sc := bufio.NewScanner(bytes.NewReader(output))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := throughputLine.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[3], 64)
			off.OutputTokensPerSecond = &v
		}
		if m := promptLine.FindStringSubmatch(line); m != nil {
			v, _ := strconv.Atoi(m[1])
			off.PromptTokens = &v
		}
		if m := outputLine.FindStringSubmatch(line); m != nil {
			v, _ := strconv.Atoi(m[1])
			off.OutputTokens = &v
		}
	}
	b := results.Benchmark{Profile: "offline", DurationSeconds: *j.Elapsed, AchievedRate: results.Of(*j.RequestsPerSecond),
		Requests: results.Requests{Successful: *j.NumRequests}, RequestsPerSecond: results.Of(*j.RequestsPerSecond),
		TotalTokensPerSecond: results.Of(*j.TokensPerSecond), Valid: true, InvalidReasons: []string{}, SuccessRatio: results.Of(1), Offline: off,
		Notes: []string{"offline batch (vllm bench throughput): every prompt at once, no per-request latency"}}
	if off.OutputTokensPerSecond != nil {
		b.OutputTokensPerSecond = results.Of(*off.OutputTokensPerSecond)
	} else {
		b.Notes = append(b.Notes, "output tokens/s: the tool printed no output rate; output_tokens_per_second is not measured (see offline)")
	}
	return b, nil
}
