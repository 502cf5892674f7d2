// Package engine starts, probes and stops the inference server under test.
//
// A Driver turns a Spec into a running Instance: "sim" serves the engine
// simulator in-process, "docker" runs a pinned container (vLLM CPU or the
// simulator image) through the Docker Engine API, "external" adopts a server
// someone else runs. The lifecycle is the same for all three:
//
//	inst, err := drv.Start(ctx, spec) // returns once the server process exists
//	defer inst.Stop(context.WithoutCancel(ctx))
//	err = inst.Ready(ctx)             // /health 200 -> /v1/models lists the model -> one real 1-token request
//	... run load; select on inst.Died() to fail the cell if the engine dies ...
//
// Contract:
//   - Start never leaves anything behind on error: a container that was
//     created is removed before Start returns the error.
//   - Ready probes with Spec.APIKey (Authorization: Bearer) on every request,
//     honours ctx and Spec.ReadyTimeout, logs progress, and returns early with
//     the engine's *ExitError if the engine dies while it waits.
//   - Stop is idempotent and always releases everything the instance owns
//     (listener, container, log streamers), also when ctx is already
//     cancelled: callers pass context.WithoutCancel on interrupt. Logs are
//     kept in Spec.LogDir.
//   - Died returns the same channel on every call. It receives exactly one
//     *ExitError if the engine exits without Stop having been called, and is
//     closed by Stop (so a receive after Stop yields nil).
//   - URL, Model and Info may be called concurrently with everything else.
//     Ready, Stop and Start on the same instance are called by one goroutine.
//
// Secrets (Spec.Secrets, Spec.APIKey) are never logged and never appear in
// Info; only their names do.
//
// Drivers:
//   - Sim (NewSim): the simulator on 127.0.0.1 and a free port; cores =
//     len(Spec.CPUs); vLLM flags it models (--max-num-seqs, --max-model-len,
//     ...) are honoured, the rest ignored; a simulated crash is a death.
//   - Docker (NewDocker): one container per instance with host networking,
//     cpuset-cpus/mems, SYS_NICE and seccomp=unconfined (NUMA syscalls), shm,
//     VLLM_CPU_KVCACHE_SPACE and VLLM_CPU_OMP_THREADS_BIND, Spec.Env and
//     secrets, the model cache mounted, labels io.servebench.role=engine plus
//     instance, model, port and Spec.Labels. The image defaults to the vLLM
//     CPU image of the daemon's architecture and is pulled with progress
//     when missing; images named *vllm-sim* get the simulator's dialect
//     (vLLM-only flags left off). BuildContainer is the pure spec builder
//     that dry runs print. DockerClientOptions honours DOCKER_HOST,
//     including ssh://.
//   - External (NewExternal): adopts a URL; the model is auto-detected from
//     /v1/models when the spec names none; never stopped, never dies.
package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Task is what the served model does, which decides the readiness request.
type Task string

const (
	TaskGenerate Task = "generate" // probe with a 1-token /v1/completions request
	TaskEmbed    Task = "embed"    // probe with a 1-input /v1/embeddings request
	// TaskTranscribe probes with a one-second silent WAV uploaded to
	// /v1/audio/transcriptions (speech-to-text models such as Whisper).
	TaskTranscribe Task = "transcribe"
)

// Defaults applied by every driver when the Spec leaves a field zero.
const (
	DefaultReadyTimeout = 10 * time.Minute // vLLM on CPU loads weights and compiles: minutes
	DefaultShmSize      = 4 << 30          // vLLM CPU docs: --shm-size=4g
	DefaultPort         = 8000
)

// Spec describes one engine instance. Zero values mean "driver default".
type Spec struct {
	// Name identifies the instance: the container name for docker (made
	// unique by the driver), a log file prefix for all drivers.
	Name string
	// Model is what the engine loads (a Hugging Face id or a path inside
	// the container); ServedName is the id it answers to (--served-model-name),
	// Model when empty. The external driver auto-detects when both are empty.
	Model      string
	ServedName string
	Task       Task // TaskGenerate when empty
	// Image overrides the driver's image (docker only; default per architecture).
	Image string
	// CPUs and Mems are the cpuset given to the engine (docker: cpuset-cpus /
	// cpuset-mems; sim: the core count). Empty = unpinned.
	CPUs []int
	Mems []int
	// Env is passed to the engine and may be logged and recorded in the
	// manifest. Secrets are passed the same way but never logged or recorded
	// (e.g. HF_TOKEN).
	Env     map[string]string
	Secrets map[string]string
	// KVCacheGiB sets VLLM_CPU_KVCACHE_SPACE (0 = leave the engine's default).
	KVCacheGiB float64
	// Host and Port the engine listens on. Host defaults to 127.0.0.1; Port 0
	// means a free port for sim and DefaultPort for docker.
	Host string
	Port int
	// ExtraArgs are appended to the engine's command line (vllm serve flags).
	ExtraArgs []string
	// Labels are set on the container (docker) and copied into Info.
	Labels map[string]string
	// LogDir receives the engine's log (<Name>.log); empty = logs discarded.
	LogDir string
	// ReadyTimeout bounds Ready; DefaultReadyTimeout when zero.
	ReadyTimeout time.Duration
	// APIKey is sent as a bearer token on every probe (external, or a vLLM
	// started with --api-key).
	APIKey string
	// ShmSize in bytes for the container (docker); DefaultShmSize when zero.
	ShmSize int64
	// ModelCache is a directory on the Docker daemon's machine mounted at
	// the container's Hugging Face cache (docker); empty = no mount.
	ModelCache string
	// URL is the server's base URL (external only).
	URL string
	// Command, when set, runs this engine command to completion instead of
	// serving (docker: Command[0] is the entrypoint, e.g. vllm bench
	// throughput): the container has the engine's pinning, environment and
	// log, no port; Docker.RunCommand runs it.
	Command []string
	// Binds are host directories mounted in the container, "host:path[:ro]"
	// (docker).
	Binds []string
}

// Info is the provenance of an instance, recorded in manifest.json.
type Info struct {
	Driver        string            `json:"driver"` // sim, docker, external
	URL           string            `json:"url"`
	Model         string            `json:"model"`                    // served id, as /v1/models lists it
	ModelRoot     string            `json:"model_root,omitempty"`     // what was loaded (/v1/models "root")
	MaxModelLen   int               `json:"max_model_len,omitempty"`  // as /v1/models reports it
	Image         string            `json:"image,omitempty"`          // reference as given
	ImageID       string            `json:"image_id,omitempty"`       // local image id (sha256:...)
	ImageDigest   string            `json:"image_digest,omitempty"`   // repo digest when the image came from a registry
	EngineVersion string            `json:"engine_version,omitempty"` // GET /version
	ContainerID   string            `json:"container_id,omitempty"`
	ContainerName string            `json:"container_name,omitempty"`
	CPUSet        string            `json:"cpuset,omitempty"` // e.g. "0-3,8"
	MemSet        string            `json:"memset,omitempty"`
	Env           map[string]string `json:"env,omitempty"`          // non-secret environment
	SecretNames   []string          `json:"secret_names,omitempty"` // names only
	Labels        map[string]string `json:"labels,omitempty"`
	LogPath       string            `json:"log_path,omitempty"`
}

// Driver starts engine instances.
type Driver interface {
	// Name is the driver's name: sim, docker or external.
	Name() string
	// Start launches (or adopts) an engine. It returns when the process or
	// container exists, not when it is ready: call Instance.Ready.
	Start(ctx context.Context, spec Spec) (Instance, error)
}

// Instance is one running engine.
type Instance interface {
	// URL is the base URL, without /v1 (e.g. http://127.0.0.1:8000).
	URL() string
	// Model is the served model id; after Ready it is what /v1/models listed.
	Model() string
	// Info is the instance's provenance; complete after Ready.
	Info() Info
	// Ready waits until the engine serves: /health 200, /v1/models lists
	// the model, one real 1-token request succeeds.
	Ready(ctx context.Context) error
	// Stop shuts the engine down and releases everything; idempotent.
	Stop(ctx context.Context) error
	// Died receives an *ExitError if the engine exits unexpectedly.
	Died() <-chan error
}

// ErrNotReady is wrapped by Ready's error when the timeout passes.
var ErrNotReady = errors.New("engine not ready")

// ExitError reports an engine that exited without being stopped.
type ExitError struct {
	Name      string   // instance name
	ExitCode  int      // process or container exit code; -1 when unknown
	OOMKilled bool     // the kernel's OOM killer ended it
	LastLines []string // the last lines of its log, oldest first
	Err       error    // underlying cause when there is no exit code
}

func (e *ExitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "engine %s died", e.Name)
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, " with exit code %d", e.ExitCode)
	}
	if e.OOMKilled {
		b.WriteString(" (OOM killed)")
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if len(e.LastLines) > 0 {
		b.WriteString("; last log lines:\n  ")
		b.WriteString(strings.Join(e.LastLines, "\n  "))
	}
	return b.String()
}

func (e *ExitError) Unwrap() error { return e.Err }
