package loadgen_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/workload"
)

// A suite runner calls Run in-process: one benchmark per rate, every
// request handed to the recorder (live metrics) and to a sink (here a
// counter; runner bench writes requests.jsonl), and a summary back.
func ExampleRun() {
	// A stand-in server: one model, three streamed tokens per request.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			fmt.Fprint(w, `{"data":[{"id":"demo"}]}`)
			return
		}
		if r.URL.Path != "/v1/completions" {
			http.NotFound(w, r)
			return
		}
		for i := 0; i < 3; i++ {
			fmt.Fprint(w, `data: {"choices":[{"text":"tok"}]}`+"\n\n")
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()

	chat, _ := workload.Lookup("chat_lite")
	cfg := loadgen.Config{
		Target:      srv.URL,
		API:         measure.APICompletions,
		Stream:      true,
		Profile:     pacer.Concurrent,
		Rates:       []float64{2, 4},
		Workload:    chat,
		MaxRequests: 20,
		MaxSeconds:  10 * time.Second,
		Seed:        42,
	}
	requests := 0
	sum, err := loadgen.Run(context.Background(), cfg, measure.Discard, func(*measure.Result) { requests++ })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("model:", sum.Model, "prompts:", sum.PromptCalibration, "requests:", requests)
	for _, b := range sum.Benchmarks {
		fmt.Println(b.Level, b.Requests.Successful, "successful,", b.ITL.Count, "inter-token gaps, token source", b.TokenSource)
	}
	// Output:
	// model: demo prompts: estimate requests: 40
	// concurrent-2 20 successful, 40 inter-token gaps, token source chunks
	// concurrent-4 20 successful, 40 inter-token gaps, token source chunks
}
