package loadgen

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/runner/pacer"
)

// dyingServer serves f on its own listener until kill, which closes the
// listener and every connection: from then on connections are refused.
func dyingServer(t *testing.T, f *fakeServer) (url string, kill func()) {
	t.Helper()
	f.truth = map[string]*truthRec{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: f}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), func() { srv.Close() }
}

// A server that dies mid-level ends the level within UnreachableAfter (plus
// the watcher's last backoff), as unreachable, with a non-nil error; the
// closed loop backs off instead of burning its request cap on refusals.
func TestDeadServerEndsTheLevel(t *testing.T) {
	for _, kind := range []pacer.Kind{pacer.Concurrent, pacer.Constant} {
		t.Run(string(kind), func(t *testing.T) {
			f := &fakeServer{TTFT: 5 * time.Millisecond, ITL: 5 * time.Millisecond}
			url, kill := dyingServer(t, f)
			cfg := baseConfig(url)
			cfg.Profile, cfg.Rates, cfg.MaxSeconds, cfg.MaxRequests = kind, []float64{8, 8}, 30*time.Second, 100000
			cfg.UnreachableAfter = time.Second
			var died time.Time
			cfg.testLevelHook = func(*level) {
				time.AfterFunc(500*time.Millisecond, func() { died = time.Now(); kill() })
			}
			var col collector
			sum, err := Run(context.Background(), cfg, nil, col.sink)
			ended := time.Now()
			if !errors.Is(err, ErrUnreachable) || !errors.Is(err, ErrAborted) {
				t.Fatalf("err = %v", err)
			}
			// Generous on a loaded machine; the point is seconds, not the 30 s window.
			if d := ended.Sub(died); d > 5*time.Second {
				t.Errorf("the level ended %v after the server died", d)
			}
			if len(sum.Benchmarks) != 1 || !strings.Contains(sum.Benchmarks[0].StopReason, "accepted no connection for 1s") {
				t.Fatalf("benchmarks %d, stop reason %q", len(sum.Benchmarks), sum.Benchmarks[0].StopReason)
			}
			connect := 0
			for _, r := range col.all {
				if r.ErrorKind == contract.ErrConnect {
					connect++
				}
			}
			// 8 streams backing off 25 ms doubling to 1 s over about 1 s,
			// or 8 req/s: tens of refusals, not thousands.
			t.Logf("ended %v after the death, %d refused requests", ended.Sub(died).Round(time.Millisecond), connect)
			if connect == 0 || connect > 200 {
				t.Errorf("%d requests could not connect", connect)
			}
			// Tokens of failed requests are not throughput.
			if b := sum.Benchmarks[0]; b.Requests.Successful == 0 {
				t.Errorf("no success before the death: %+v", b.Requests)
			}
		})
	}
}

// Refusals that stop before UnreachableAfter (a restart, a blip) do not
// end the level.
func TestShortOutageDoesNotEndTheLevel(t *testing.T) {
	f := &fakeServer{TTFT: 5 * time.Millisecond, ITL: 5 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	f.truth = map[string]*truthRec{}
	srv := &http.Server{Handler: f}
	go srv.Serve(ln)
	cfg := baseConfig("http://" + addr)
	cfg.Profile, cfg.Rates, cfg.MaxSeconds = pacer.Constant, []float64{20}, 3*time.Second
	cfg.UnreachableAfter = 3 * time.Second
	revived := make(chan *http.Server, 1)
	cfg.testLevelHook = func(*level) {
		time.AfterFunc(500*time.Millisecond, func() {
			srv.Close()
			time.Sleep(300 * time.Millisecond)
			ln2, err := net.Listen("tcp", addr)
			if err != nil {
				revived <- nil
				return
			}
			s2 := &http.Server{Handler: f}
			go s2.Serve(ln2)
			revived <- s2
		})
	}
	var col collector
	sum, err := Run(context.Background(), cfg, nil, col.sink)
	if s2 := <-revived; s2 != nil {
		defer s2.Close()
	} else {
		t.Skip("could not listen on the same port again")
	}
	if err != nil || sum.Benchmarks[0].StopReason != "" {
		t.Fatalf("err %v, stop reason %q", err, sum.Benchmarks[0].StopReason)
	}
	connect := 0
	for _, r := range col.all {
		if r.ErrorKind == contract.ErrConnect {
			connect++
		}
	}
	if connect == 0 {
		t.Error("the outage left no trace")
	}
}

// Canceling Run's context with Abort(cause) aborts the level: no drain,
// the cause as its stop reason and in Run's error, no further level.
func TestAbortThroughTheContext(t *testing.T) {
	f := &fakeServer{TTFT: 10 * time.Millisecond, ITL: 50 * time.Millisecond, Tokens: 100}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.Rates, cfg.MaxSeconds = pacer.Concurrent, []float64{4, 8}, 10*time.Second
	cfg.IgnoreEOS = false
	cfg.ExtraBody = map[string]any{"max_completion_tokens": nil, "max_tokens": nil}
	ctx, cancel := context.WithCancelCause(context.Background())
	died := errors.New("engine x died with exit code 137")
	time.AfterFunc(300*time.Millisecond, func() { cancel(Abort(died)) })
	begin := time.Now()
	sum, err := Run(ctx, cfg, nil, nil)
	if !errors.Is(err, died) || !errors.Is(err, ErrAborted) || len(sum.Benchmarks) != 1 {
		t.Fatalf("err %v, %d benchmarks", err, len(sum.Benchmarks))
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("abort took %v", d)
	}
	if b := sum.Benchmarks[0]; b.StopReason != died.Error() {
		t.Errorf("stop reason %q", b.StopReason)
	}
}

// 429 is rate_limited; with RetryAfter a closed-loop stream waits as the
// server asks before its next request, without it it does not.
func TestRetryAfterInClosedLoops(t *testing.T) {
	for _, honour := range []bool{false, true} {
		f := &fakeServer{TTFT: time.Millisecond, ITL: time.Millisecond, RetryAfter: "1",
			Fail: func(n int64) int {
				if n == 0 {
					return http.StatusTooManyRequests
				}
				return 0
			}}
		srv := f.start(t)
		cfg := baseConfig(srv.URL)
		cfg.Profile, cfg.Rates, cfg.MaxRequests, cfg.MaxSeconds = pacer.Concurrent, []float64{1}, 3, 10*time.Second
		cfg.RetryAfter = honour
		var col collector
		begin := time.Now()
		if _, err := Run(context.Background(), cfg, nil, col.sink); err != nil {
			t.Fatal(err)
		}
		took := time.Since(begin)
		if len(col.all) != 3 || col.all[0].ErrorKind != contract.ErrRateLimited {
			t.Fatalf("honour %v: %d results, first %s", honour, len(col.all), col.all[0].ErrorKind)
		}
		gap := col.all[1].Sent.Sub(col.all[0].End)
		if honour && gap < 900*time.Millisecond || !honour && gap > 500*time.Millisecond {
			t.Errorf("honour %v: next request %v after the 429 (run %v)", honour, gap, took)
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &level{start: now, sendEnd: 30 * time.Second}
	for _, tc := range []struct {
		h    string
		want time.Duration
	}{
		{"2", 2 * time.Second},
		{"0.5", 500 * time.Millisecond},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second},
		{"120", 30 * time.Second}, // never past the end of sending
		{"", 0}, {"soon", 0}, {"-3", 0},
	} {
		if got := l.retryAfter(tc.h, now); got != tc.want {
			t.Errorf("Retry-After %q: %v, want %v", tc.h, got, tc.want)
		}
	}
}
