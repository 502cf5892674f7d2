package simulator

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
)

// openaiSDK is the version of the official OpenAI JavaScript SDK the
// conformance test drives the simulator with (the last major that runs on
// Node 20, Debian's).
const openaiSDK = "6.49.0"

// TestE2EOpenAISDK drives the simulator with the official OpenAI JavaScript
// SDK (testdata/openai-sdk/conformance.cjs), as a vLLM user would: models,
// chat and completions (plain and streamed, usage, finish reasons, ids,
// error classes), embeddings with the SDK's default base64 encoding and
// with floats, transcriptions of a speech clip (a file upload, plain and
// streamed). The SDK is installed from npm into the user's cache once.
func TestE2EOpenAISDK(t *testing.T) {
	modules := e2e.NPMPackage(t, "openai", openaiSDK)
	gen := fast()
	gen.Model = "Qwen/Qwen3-0.6B"
	_, genURL := serve(t, gen)
	emb := fast()
	emb.Model = "sentence-transformers/all-MiniLM-L6-v2"
	emb.BlockSize = 16
	_, embURL := serve(t, emb)
	// whisper-large-v3 with seed 42 hears this clip without an error.
	asr := whisperConfig("openai/whisper-large-v3")
	_, asrURL := serve(t, asr)
	c := clip(t, "speech", 0)
	wav := filepath.Join(t.TempDir(), c.Name)
	if err := os.WriteFile(wav, c.Data, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	script, err := filepath.Abs(filepath.Join("testdata", "openai-sdk", "conformance.cjs"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "GEN_URL="+genURL, "EMB_URL="+embURL,
		"ASR_URL="+asrURL, "ASR_CLIP="+wav, "ASR_TEXT="+c.Text)
	out, err := cmd.CombinedOutput()
	t.Logf("openai %s:\n%s", openaiSDK, out)
	if err != nil {
		t.Fatalf("the OpenAI SDK conformance script failed: %v", err)
	}
}
