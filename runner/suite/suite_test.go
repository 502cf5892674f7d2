package suite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every testdata/invalid-*.yaml with the exact error a user sees. A new
// invalid file without an entry here fails the test.
var invalidFiles = map[string]string{
	"invalid-bad-name.yaml":              `name: "My Suite" must be lowercase letters, digits and dashes`,
	"invalid-contention-variant.yaml":    `contention.variants: unknown variant "io-neighbour" (one of isolated, cpu-neighbour, membw-neighbour, instances)`,
	"invalid-cores-not-numbers.yaml":     "line 2: cannot unmarshal !!str `eight` into a number",
	"invalid-empty.yaml":                 `empty suite file`,
	"invalid-engine.yaml":                `engine: unknown engine "podman" (one of sim, docker, external)`,
	"invalid-finds-max.yaml":             `stages[0].finds_max: needs profile throughput with exactly one level (the streams)`,
	"invalid-fractional-streams.yaml":    `stages[0].levels: 2.5 is not a whole number (allowed: [1, 50000] streams)`,
	"invalid-huge-cores.yaml":            `cores (--cores, SERVEBENCH_CORES): 1e+08 is outside the allowed range [1, 8192]`,
	"invalid-huge-max-seconds.yaml":      `limits.max_seconds (--max-seconds, SERVEBENCH_MAX_SECONDS): 1e+12 is outside the allowed range [0, 604800] seconds`,
	"invalid-huge-rate.yaml":             `stages[0].levels: 1e+308 is outside the allowed range (0, 1e+06] req/s`,
	"invalid-huge-streams.yaml":          `stages[0].levels: 1e+09 is outside the allowed range [1, 50000] streams`,
	"invalid-fractions-without-max.yaml": `stages[0].fractions: needs an earlier stage with finds_max: true`,
	"invalid-levels-and-fractions.yaml":  `stages[1].levels: set levels or fractions, not both`,
	"invalid-loadgen.yaml":               `loadgen: unknown load generator "locust" (one of native, guidellm, vllm-bench, command)`,
	"invalid-command-empty.yaml":         `command: needs a recipe or a run line`,
	"invalid-negative-limit.yaml":        `limits.max_seconds (--max-seconds, SERVEBENCH_MAX_SECONDS): -5 is outside the allowed range [0, 604800] seconds`,
	"invalid-no-name.yaml":               `name: required`,
	"invalid-no-stages.yaml":             `stages: at least one stage is required`,
	"invalid-offline-stages.yaml":        `stages: an offline suite has use cases, not stages, phases or contention`,
	"invalid-offline-dataset.yaml":       `use_cases[0].dataset: unknown dataset "burstgpt" (one of random, sharegpt, sonnet, prefix_repetition)`,
	"invalid-offline-workload.yaml":      `workloads: "chat" is not one of the use cases (labels)`,
	"invalid-use-cases-online.yaml":      `use_cases: only offline suites (kind: offline) have use cases and runs`,
	"invalid-one-instance.yaml":          `contention.instances: 1 is outside the allowed range [2, 64]`,
	"invalid-phase-name.yaml":            `phases[0].name: required`,
	"invalid-profile.yaml":               `stages[0].profile: unknown profile "sweep" (one of synchronous, concurrent, throughput, constant, poisson)`,
	"invalid-unknown-field.yaml":         `line 3: unknown field "colour"`,
	"invalid-unknown-limit.yaml":         `line 3: unknown field "max_minutes"`,
	"invalid-unknown-workload.yaml":      `workloads: unknown workload "poetry" (one of chat, chat_lite, chat_var, code, code_var, context_scaling_1k, context_scaling_4k, context_scaling_8k, embedding, rag, reasoning, speech, speech_15s, speech_30s, speech_5s, speech_long, speech_mulaw8k, speech_pcm48k, speech_pcm8k, speech_stereo, summarization, summarization_var)`,
	"invalid-zero-cores.yaml":            `cores (--cores, SERVEBENCH_CORES): 0 is outside the allowed range [1, 8192]`,
}

func TestInvalidFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(invalidFiles) {
		t.Errorf("%d invalid files in testdata, %d in the table", len(files), len(invalidFiles))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, ok := invalidFiles[name]
			if !ok {
				t.Fatalf("no expected error for %s", name)
			}
			_, err := Load(f)
			if err == nil {
				t.Fatalf("Load(%s) succeeded", name)
			}
			if got, want := err.Error(), f+": "+want; got != want {
				t.Errorf("error\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestCatalogue(t *testing.T) {
	all, err := Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
		if s.Description == "" {
			t.Errorf("%s: no description", s.Name)
		}
		// Every built-in suite must plan with the defaults.
		c, err := Resolve(s, Overrides{}, Overrides{})
		if err != nil {
			t.Errorf("%s: resolve: %v", s.Name, err)
			continue
		}
		p, err := NewPlan(c)
		if err != nil {
			t.Errorf("%s: plan: %v", s.Name, err)
			continue
		}
		if len(p.Cells) == 0 {
			t.Errorf("%s: no runnable cell", s.Name)
		}
	}
	if got, want := strings.Join(names, ","), "audio,concurrent-load,contention,embedding,offline-batch,scaling,smoke"; got != want {
		t.Errorf("catalogue = %s, want %s", got, want)
	}
}

func TestLookup(t *testing.T) {
	if _, err := Lookup("smoke"); err != nil {
		t.Errorf("Lookup(smoke): %v", err)
	}
	s, err := Lookup("testdata/valid-user.yaml")
	if err != nil {
		t.Fatalf("Lookup(file): %v", err)
	}
	if s.Name != "my-poisson" || s.Source != "testdata/valid-user.yaml" {
		t.Errorf("got %s from %s", s.Name, s.Source)
	}
	_, err = Lookup("nightly")
	if err == nil || !strings.Contains(err.Error(), `unknown suite "nightly" (built-in: audio, concurrent-load, contention, embedding, offline-batch, scaling, smoke`) {
		t.Errorf("Lookup(nightly) = %v", err)
	}
	if _, err := Lookup("missing/file.yaml"); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Lookup(missing file) = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
