package simulator

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// ttft sends one streamed completion and returns the time to its first
// token chunk.
func ttft(t *testing.T, url, prompt string) time.Duration {
	t.Helper()
	body := fmt.Sprintf(`{"prompt":%q,"max_tokens":2,"ignore_eos":true,"stream":true}`, prompt)
	start := time.Now()
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var first time.Duration
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		if first == 0 && strings.HasPrefix(line, "data: {") {
			first = time.Since(start)
		}
	}
	if first == 0 {
		t.Fatalf("no token chunk")
	}
	return first
}

// TestPrefixCachingLive: requests sharing a long prefix reach their first
// token much sooner once it is cached, and vLLM's prefix-cache counters
// move by the prompt tokens queried and found; with
// --no-enable-prefix-caching neither happens.
func TestPrefixCachingLive(t *testing.T) {
	prefix := strings.Repeat("shared system prompt words ", 240) // ~960 tokens
	for _, caching := range []bool{true, false} {
		t.Run(fmt.Sprintf("caching=%v", caching), func(t *testing.T) {
			cfg := fast()
			cfg.Slowdown = 0.2
			cfg.EnablePrefixCaching = &caching
			e, url := serve(t, cfg)
			first := ttft(t, url, prefix+"question zero")
			var later time.Duration
			for i := 1; i <= 3; i++ {
				later = max(later, ttft(t, url, prefix+fmt.Sprintf("question number %d", i)))
			}
			s := scrape(t, e)
			queries, hits := s.value["vllm:prefix_cache_queries_total"], s.value["vllm:prefix_cache_hits_total"]
			t.Logf("first TTFT %s, slowest later TTFT %s; queries %g, hits %g", first, later, queries, hits)
			if !caching {
				if queries != 0 || hits != 0 {
					t.Errorf("counters moved without prefix caching: queries %g hits %g", queries, hits)
				}
				if later < first/2 {
					t.Errorf("later TTFT %s fell below half the first %s without prefix caching", later, first)
				}
				return
			}
			if prompts := s.value["vllm:prompt_tokens_total"]; queries != prompts {
				t.Errorf("queries %g, want every prompt token (%g)", queries, prompts)
			}
			// Three requests each find the prefix's full 128-token blocks.
			if hits < 3*768 || hits >= queries {
				t.Errorf("hits %g, want at least 3 x 768 and fewer than the %g queried", hits, queries)
			}
			if later > first/2 {
				t.Errorf("TTFT with the prefix cached is %s, not well below the first request's %s", later, first)
			}
		})
	}
}
