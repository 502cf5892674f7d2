package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
)

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLineWriter(t *testing.T) {
	var console, log syncBuf
	w := newLineWriter(Output{Console: &console, Log: &log, Prefix: "guidellm"}, 3)
	for _, chunk := range []string{"Creating back", "end...\nprogress 10%\rprogress 50%\r", "\n\nResults:\r\n", "tail without newline"} {
		w.Write([]byte(chunk))
	}
	w.Flush()
	want := "guidellm | Creating backend...\nguidellm | progress 10%\nguidellm | progress 50%\nguidellm | Results:\nguidellm | tail without newline\n"
	if console.String() != want || log.String() != want {
		t.Errorf("console %q\nlog %q\nwant %q", console.String(), log.String(), want)
	}
	if got := w.lines(); !reflect.DeepEqual(got, []string{"progress 50%", "Results:", "tail without newline"}) {
		t.Errorf("tail %q", got)
	}
}

func TestRunHostStreamsAndReportsExit(t *testing.T) {
	var console, log syncBuf
	h := Host{
		Argv:    []string{"sh", "-c", `echo "key=$API_KEY mode=$MODE"; echo warn >&2; printf '10%%\r100%%\n'; exit 3`},
		Env:     map[string]string{"MODE": "fast"},
		Secrets: map[string]string{"API_KEY": "s3cret"},
	}
	if s := h.String(); strings.Contains(s, "s3cret") || s != `MODE=fast API_KEY=<redacted> sh -c 'echo "key=$API_KEY mode=$MODE"; echo warn >&2; printf '\''10%%\r100%%\n'\''; exit 3'` {
		t.Errorf("String() = %s", s)
	}
	err := RunHost(context.Background(), h, Output{Console: &console, Log: &log, Prefix: "tool"})
	var exit *ExitError
	if !errors.As(err, &exit) || exit.ExitCode != 3 {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(log.String(), "tool | key=s3cret mode=fast\n") || !strings.Contains(log.String(), "tool | warn\n") ||
		!strings.Contains(log.String(), "tool | 10%\ntool | 100%\n") {
		t.Errorf("log %q", log.String())
	}
	if !reflect.DeepEqual(exit.LastLines[len(exit.LastLines)-2:], []string{"10%", "100%"}) {
		t.Errorf("last lines %q", exit.LastLines)
	}
}

func TestRunHostInterruptGivesGrace(t *testing.T) {
	var log syncBuf
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	// The tool writes its report when interrupted, as GuideLLM would try to.
	err := RunHost(ctx, Host{Argv: []string{"sh", "-c", `trap 'echo writing report; exit 130' INT; echo started; while :; do sleep 0.05; done`}, Grace: 5 * time.Second},
		Output{Log: &log})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(log.String(), "writing report") || time.Since(start) > 4*time.Second {
		t.Errorf("log %q after %s", log.String(), time.Since(start))
	}
}

func TestParseVersionAndAtLeast(t *testing.T) {
	for out, want := range map[string]string{
		"guidellm, version 0.7.3\n":   "0.7.3",
		"0.11.0\n":                    "0.11.0",
		"INFO 07-22 ... \n0.25.1+cpu": "0.25.1+cpu",
		"vllm 0.10.1rc2":              "0.10.1rc2",
	} {
		if got, err := ParseVersion(out); err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %q, %v; want %q", out, got, err, want)
		}
	}
	if _, err := ParseVersion("command not found"); err == nil {
		t.Error("no version accepted")
	}
	for _, c := range []struct {
		v, min string
		want   bool
	}{{"0.7.3", "0.7", true}, {"0.7.0", "0.7", true}, {"0.6.1", "0.7", false}, {"1.0", "0.7.3", true}, {"0.10.1rc2", "0.7", true}, {"0.25.1+cpu", "0.26", false}} {
		if AtLeast(c.v, c.min) != c.want {
			t.Errorf("AtLeast(%s, %s) != %v", c.v, c.min, c.want)
		}
	}
}

func TestContainerSpecExact(t *testing.T) {
	c := Container{
		Name: "servebench-guidellm-cell1", Image: "ghcr.io/vllm-project/guidellm:v0.7.3",
		Cmd: []string{"run", "--backend", "kind=openai_http,target=http://127.0.0.1:9470"},
		Env: map[string]string{"GUIDELLM__MAX_CONCURRENCY": "64"}, Secrets: map[string]string{"HF_TOKEN": "hf_x"},
		CPUs: []int{6, 7}, Mems: []int{0}, Mounts: []Mount{{Host: "/res/cell1", Container: "/results"}, {Host: "/models/tok", Container: "/tokenizer", ReadOnly: true}},
		WorkDir: "/results", User: "1000:1000", Labels: map[string]string{"io.servebench.run_id": "r1"},
	}
	cfg, host := c.Spec()
	wantCfg := &container.Config{
		Image: "ghcr.io/vllm-project/guidellm:v0.7.3", Cmd: []string{"run", "--backend", "kind=openai_http,target=http://127.0.0.1:9470"},
		Env:    []string{"GUIDELLM__MAX_CONCURRENCY=64", "HF_TOKEN=hf_x"},
		Labels: map[string]string{"io.servebench.run_id": "r1", "io.servebench.role": "loadgen"}, WorkingDir: "/results", User: "1000:1000",
	}
	wantHost := &container.HostConfig{
		NetworkMode: "host", RestartPolicy: container.RestartPolicy{Name: "no"},
		Resources: container.Resources{CpusetCpus: "6-7", CpusetMems: "0"},
		Binds:     []string{"/res/cell1:/results", "/models/tok:/tokenizer:ro"},
	}
	if !reflect.DeepEqual(cfg, wantCfg) {
		t.Errorf("config\n got %#v\nwant %#v", cfg, wantCfg)
	}
	if !reflect.DeepEqual(host, wantHost) {
		t.Errorf("host\n got %#v\nwant %#v", host, wantHost)
	}
	want := "docker run --rm --name servebench-guidellm-cell1 --network host --cpuset-cpus 6-7 --cpuset-mems 0 -v /res/cell1:/results -v /models/tok:/tokenizer:ro -w /results --user 1000:1000 -e GUIDELLM__MAX_CONCURRENCY=64 -e 'HF_TOKEN=<redacted>' ghcr.io/vllm-project/guidellm:v0.7.3 run --backend kind=openai_http,target=http://127.0.0.1:9470"
	if c.String() != want {
		t.Errorf("String()\n got %s\nwant %s", c.String(), want)
	}
}

func TestRunHostInterruptReachesWorkers(t *testing.T) {
	var log syncBuf
	ctx, cancel := context.WithCancel(context.Background())
	pidFile := filepath.Join(t.TempDir(), "pids")
	// A tool that forks two workers which ignore nothing and outlive a
	// parent killed alone.
	script := `sleep 60 & echo $! >> ` + pidFile + `; sleep 60 & echo $! >> ` + pidFile + `; echo forked; wait`
	time.AfterFunc(300*time.Millisecond, cancel)
	err := RunHost(ctx, Host{Argv: []string{"sh", "-c", script}, Grace: 500 * time.Millisecond}, Output{Log: &log})
	if err == nil {
		t.Fatal("no error after interrupt")
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		for {
			// A killed child of the (also killed) shell is reaped by init;
			// until then /proc shows it as a zombie or not at all.
			st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil || strings.Contains(string(st), ") Z ") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("worker %d still running after the interrupt", pid)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
