package suite

import (
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestResolvePrecedence(t *testing.T) {
	s, err := Load("testdata/valid-user.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Defaults < suite: the suite's models and max_seconds win, the default
	// request timeout stays.
	c, err := Resolve(s, Overrides{}, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Models, []string{"Qwen/Qwen3-0.6B", "TinyLlama/TinyLlama-1.1B-Chat-v1.0"}) ||
		c.Limits.MaxSeconds != 30 || c.Limits.RequestTimeoutSeconds != 600 || c.Engine != "sim" || !reflect.DeepEqual(c.Cores, []int{4}) {
		t.Errorf("suite layer: %+v", c)
	}
	// Suite < env < flags.
	env, err := FromEnv(func(k string) string {
		return map[string]string{
			"SERVEBENCH_CORES":       "1, 2",
			"SERVEBENCH_MAX_SECONDS": "5",
			"SERVEBENCH_ENGINE":      "docker",
			"SERVEBENCH_MODELS":      "Qwen/Qwen3-0.6B",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	flags := Overrides{Cores: []int{16}, Engine: ptr("sim")}
	c, err = Resolve(s, env, flags)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Cores, []int{16}) || c.Engine != "sim" {
		t.Errorf("flags must beat env: cores %v engine %s", c.Cores, c.Engine)
	}
	if c.Limits.MaxSeconds != 5 || !reflect.DeepEqual(c.Models, []string{"Qwen/Qwen3-0.6B"}) {
		t.Errorf("env must beat the suite: max_seconds %g models %v", c.Limits.MaxSeconds, c.Models)
	}
	if !reflect.DeepEqual(c.Workloads, []string{"chat", "rag"}) {
		t.Errorf("unset layers must not clear the suite's workloads: %v", c.Workloads)
	}
	// Resolve never mutates the defaults.
	if Defaults.Engine != "sim" || !reflect.DeepEqual(Defaults.Cores, []int{8}) {
		t.Errorf("defaults mutated: %+v", Defaults)
	}
}

// A command named above the suite replaces the suite's: a word is a
// recipe, anything else a command line.
func TestResolveCommand(t *testing.T) {
	s, _ := Builtin("smoke")
	s.Loadgen, s.Command = LoadgenCommand, &Command{Recipe: "ab"}
	c, err := Resolve(s, Overrides{}, Overrides{})
	if err != nil || c.Loadgen != "command" || c.Command.Recipe != "ab" {
		t.Fatalf("suite: %+v %v", c.Command, err)
	}
	c, err = Resolve(s, Overrides{Command: CommandOf("wrk")}, Overrides{Command: CommandOf("hey -z {{secs .Duration}}s {{q .Endpoint}}")})
	if err != nil || c.Command.Recipe != "" || c.Command.Run != "hey -z {{secs .Duration}}s {{q .Endpoint}}" {
		t.Errorf("flags over env over suite: %+v %v", c.Command, err)
	}
	// The suite's command is kept, unused, when a flag picks another load
	// generator.
	if c, err = Resolve(s, Overrides{}, Overrides{Loadgen: ptr("native")}); err != nil || c.Loadgen != "native" {
		t.Errorf("native over a command suite: %v", err)
	}
}

func TestResolveErrors(t *testing.T) {
	s, _ := Builtin("smoke")
	for _, tc := range []struct {
		name  string
		env   map[string]string
		flags Overrides
		want  string
	}{
		{"external without target", nil, Overrides{Engine: ptr("external")}, "target: the external engine needs a URL (--target or SERVEBENCH_TARGET)"},
		{"target without external", nil, Overrides{Target: ptr("http://x")}, "target: a target URL is only used with --engine external, not sim"},
		{"bad engine flag", nil, Overrides{Engine: ptr("podman")}, `engine: unknown engine "podman" (one of sim, docker, external)`},
		{"bad workload flag", nil, Overrides{Workloads: []string{"poems"}}, `workloads: unknown workload "poems"`},
		{"bad env cores", map[string]string{"SERVEBENCH_CORES": "8,x"}, Overrides{}, `SERVEBENCH_CORES: "x" is not a positive core count`},
		{"bad env seconds", map[string]string{"SERVEBENCH_MAX_SECONDS": "-1"}, Overrides{}, `SERVEBENCH_MAX_SECONDS: "-1" is not a positive number of seconds`},
		{"absurd env seconds", map[string]string{"SERVEBENCH_MAX_SECONDS": "1e12"}, Overrides{},
			"limits.max_seconds (--max-seconds, SERVEBENCH_MAX_SECONDS): 1e+12 is outside the allowed range [0, 604800] seconds"},
		{"absurd flag seconds", nil, Overrides{MaxSeconds: ptr(1e12)},
			"limits.max_seconds (--max-seconds, SERVEBENCH_MAX_SECONDS): 1e+12 is outside the allowed range [0, 604800] seconds"},
		{"absurd cores flag", nil, Overrides{Cores: []int{1e8}}, "cores (--cores, SERVEBENCH_CORES): 1e+08 is outside the allowed range [1, 8192]"},
		{"absurd repeat", map[string]string{"SERVEBENCH_REPEAT": "1000000"}, Overrides{}, "repeat (--repeat, SERVEBENCH_REPEAT): 1e+06 is outside the allowed range [0, 1000]"},
		{"command without a tool", nil, Overrides{Loadgen: ptr("command")}, "command: --loadgen command needs a tool to run: --command RECIPE (vegeta, wrk, ab, locust), --command 'LINE', or the suite's command block"},
		{"command without its load generator", map[string]string{"SERVEBENCH_COMMAND": "wrk"}, Overrides{}, "command: a command is run by --loadgen command, not native"},
		{"bad numa node", nil, Overrides{NUMANode: ptr(-2)}, "numa-node (--numa-node): -2 is outside the allowed range [-1, 1023]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := FromEnv(func(k string) string { return tc.env[k] })
			if err == nil {
				_, err = Resolve(s, env, tc.flags)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}
}
