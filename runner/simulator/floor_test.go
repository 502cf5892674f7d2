package simulator

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/simulator/perfmodel"
	"github.com/servebench/servebench/runner/simulator/tokenizer"
)

const floorHelperEnv = "SERVEBENCH_SIM_FLOOR_HELPER"

// floorConfig is the engine the floor test measures: Qwen3-0.6B on 8
// simulated cores (about 26 ms per batch-1 decode step), one sequence at a
// time so that a second request waits in the queue.
func floorConfig() Config {
	c := DefaultConfig()
	c.Model, c.Cores, c.LoadTime, c.Seed, c.MaxNumSeqs = "Qwen/Qwen3-0.6B", 8, 0, 1, 1
	return c
}

// TestHelperFloorEngine is not a test: TestNeverFasterThanModel runs it in
// a child process, which serves floorConfig and prints its address.
func TestHelperFloorEngine(t *testing.T) {
	if os.Getenv(floorHelperEnv) == "" {
		t.Skip("helper process for TestNeverFasterThanModel")
	}
	e, err := New(floorConfig(), nil)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(l.Addr())
	_ = e.Run(context.Background(), l) // until the parent kills the process
	os.Exit(0)
}

// spin keeps n threads busy on cpu (every CPU when cpu < 0) until stop
// closes: a CPU stressor on the simulator's core.
func spin(n, cpu int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // the thread exits with the goroutine, pinned or not
			if cpu >= 0 {
				var one unix.CPUSet
				one.Set(cpu)
				_ = unix.SchedSetaffinity(0, &one)
			}
			for x := uint64(1); ; x = x*6364136223846793005 + 1 {
				if x&0xffff == 0 {
					select {
					case <-stop:
						return
					default:
					}
				}
			}
		}()
	}
	return &wg
}

// streamTimes is what a client sees of one stream.
type streamTimes struct {
	ttft, e2e   time.Duration // to the first chunk, to the end
	start, done time.Time
	chunks      int
}

func stream(url, body string) (streamTimes, error) {
	var st streamTimes
	start := time.Now()
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		if strings.HasPrefix(line, "data: {") {
			if st.chunks == 0 {
				st.ttft = time.Since(start)
			}
			st.chunks++
		}
	}
	st.start, st.done = start, time.Now()
	st.e2e = st.done.Sub(start)
	if st.chunks == 0 {
		return st, fmt.Errorf("no token chunk (status %d)", resp.StatusCode)
	}
	return st, nil
}

// TestNeverFasterThanModel: the simulator runs in a child process pinned to
// one CPU beside a CPU stressor pinned to the same CPU. No request may be
// served faster than the model: from its send to its last chunk it takes at
// least its prefill and decode steps (batch-1 steps, a lower bound for any
// batch). Then the child is stopped (SIGSTOP) for a second while one
// request runs and another waits in the queue behind it (one sequence at a
// time), as a busy host pauses a process: the model cannot advance while
// the process is stopped, so the waiting request ends no sooner than both
// requests' modelled times plus the pause, less the one step the pause may
// have overlapped. Before the step loop stopped catching up with the
// model's schedule, the steps after the pause ran back to back and it ended
// about a second sooner. The pause shows in
// vllm_sim_host_stall_seconds_total.
func TestNeverFasterThanModel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for several seconds")
	}
	addr, pid, cpu := e2e.StartPinnedHelperProcess(t, "TestHelperFloorEngine", floorHelperEnv+"=1")
	url := "http://" + addr
	e2e.WaitHTTP(t, url+"/health", 30*time.Second)

	cfg := floorConfig()
	prof, _ := perfmodel.Preset(cfg.Model)
	hw, err := perfmodel.Hardware{Cores: cfg.Cores}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	// floor is the batch-1 time of a prompt of p tokens generating n.
	floor := func(p, n int) (total, step time.Duration) {
		total = perfmodel.StepCost(prof, hw, []perfmodel.Work{{NewTokens: p}}).Total
		for i := 1; i < n; i++ {
			step = perfmodel.StepCost(prof, hw, []perfmodel.Work{{NewTokens: 1, Context: p + i - 1}}).Total
			total += step
		}
		return total, step
	}
	const prompt, tokens = "how fast can the model answer", 16
	body := fmt.Sprintf(`{"prompt":%q,"max_tokens":%d,"ignore_eos":true,"stream":true}`, prompt, tokens)
	alone, _ := floor(tokenizer.Count(prompt), tokens)
	const longPrompt, longTokens = "runs through the pause", 40
	long, lastStep := floor(tokenizer.Count(longPrompt), longTokens)
	t.Logf("modelled: %s for the %d-token request, %s for the %d-token one", alone, tokens, long, longTokens)
	// The dispatcher may write a chunk up to 50 µs before its time.
	const slack = 100 * time.Microsecond

	stop := make(chan struct{})
	wg := spin(4, cpu, stop)
	defer func() { close(stop); wg.Wait() }()

	for i := range 3 {
		st, err := stream(url, body)
		if err != nil || st.chunks != tokens {
			t.Fatalf("request %d: %v, %d chunks", i, err, st.chunks)
		}
		t.Logf("alone %d: TTFT %s, whole %s", i, st.ttft, st.e2e)
		if st.e2e < alone-slack {
			t.Errorf("request %d took %s, faster than its modelled %s", i, st.e2e, alone)
		}
	}

	type result struct {
		st  streamTimes
		err error
	}
	running, queued := make(chan result, 1), make(chan result, 1)
	go func() {
		st, err := stream(url, fmt.Sprintf(`{"prompt":%q,"max_tokens":%d,"ignore_eos":true,"stream":true}`, longPrompt, longTokens))
		running <- result{st, err}
	}()
	time.Sleep(100 * time.Millisecond)
	go func() {
		st, err := stream(url, body)
		queued <- result{st, err}
	}()
	time.Sleep(200 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	time.Sleep(time.Second)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	pause := time.Since(stopped)
	r := <-running
	if r.err != nil || r.st.chunks != longTokens {
		t.Fatalf("request running through the pause: %v, %d chunks", r.err, r.st.chunks)
	}
	q := <-queued
	if q.err != nil || q.st.chunks != tokens {
		t.Fatalf("request queued through the pause: %v, %d chunks", q.err, q.st.chunks)
	}
	took, want := q.st.done.Sub(r.st.start), long+alone+pause-lastStep-slack
	t.Logf("running request %s; queued one done %s after the first was sent, at least %s expected", r.st.e2e, took, want)
	if took < want {
		t.Errorf("the queued request ended %s after the running one was sent: sooner than both modelled (%s) plus the %s pause less a step",
			took, long+alone, pause)
	}

	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stall := -1.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && strings.HasPrefix(f[0], "vllm_sim_host_stall_seconds_total") {
			stall, _ = strconv.ParseFloat(f[1], 64)
		}
	}
	t.Logf("host stall reported: %.3fs", stall)
	if stall < (pause - lastStep).Seconds() {
		t.Errorf("vllm_sim_host_stall_seconds_total = %g, want at least the %s pause less a step", stall, pause)
	}
}
