package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/internal/redact"
	"github.com/servebench/servebench/runner/topology"
)

// DockerAPI is the part of the Docker Engine API client the docker driver
// uses. *client.Client (github.com/docker/docker/client) implements it; tests
// use a fake to assert the exact container specs.
type DockerAPI interface {
	ServerVersion(ctx context.Context) (types.Version, error)
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error)
	ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerLogs(ctx context.Context, id string, opts container.LogsOptions) (io.ReadCloser, error)
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerStop(ctx context.Context, id string, opts container.StopOptions) error
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
}

// NewDockerClient returns a Docker Engine API client with API version
// negotiation, so older daemons (API 1.41) work. Without options it talks to
// the local socket; to honour DOCKER_HOST (including ssh://) and friends, cmd
// passes DockerClientOptions(os.Getenv).
func NewDockerClient(opts ...client.Opt) (*client.Client, error) {
	c, err := client.NewClientWithOpts(append([]client.Opt{client.WithAPIVersionNegotiation()}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return c, nil
}

// vLLM CPU images, pinned so results are comparable across runs; override
// with Spec.Image or DockerConfig.Images.
const (
	VLLMImageAMD64 = "docker.io/vllm/vllm-openai-cpu:v0.25.1-x86_64"
	VLLMImageARM64 = "docker.io/vllm/vllm-openai-cpu:v0.25.1-arm64"
	// SimImage is the engine simulator image built by `make sim-image`.
	SimImage = "servebench/vllm-sim:dev"
)

// Container labels the docker driver sets besides contract.ContainerRoleLabel.
const (
	ContainerInstanceLabel = "io.servebench.instance" // Spec.Name
	ContainerModelLabel    = "io.servebench.model"    // served model id
	ContainerPortLabel     = "io.servebench.port"     // the port the engine listens on (host network)
)

// HFCacheMount is where Spec.ModelCache is mounted in the container.
const HFCacheMount = "/root/.cache/huggingface"

// DefaultImage returns the vLLM CPU image for a Docker daemon architecture
// (as types.Version.Arch or uname -m spells it).
func DefaultImage(arch string) (string, error) {
	switch arch {
	case "amd64", "x86_64":
		return VLLMImageAMD64, nil
	case "arm64", "aarch64":
		return VLLMImageARM64, nil
	}
	return "", fmt.Errorf("image: no vLLM CPU image for architecture %q (x86_64 and aarch64 are supported); pass one with --image", arch)
}

// Flavor is the command-line dialect of an image's entrypoint.
type Flavor string

const (
	FlavorVLLM Flavor = "vllm" // entrypoint `vllm serve`: the model is the first argument
	FlavorSim  Flavor = "sim"  // entrypoint vllm-sim: --model flag
)

// FlavorOf guesses the dialect from the image reference.
func FlavorOf(ref string) Flavor {
	if strings.Contains(ref, "vllm-sim") {
		return FlavorSim
	}
	return FlavorVLLM
}

// DockerConfig configures the docker driver.
type DockerConfig struct {
	Client     DockerAPI
	HTTPClient *http.Client // for readiness probes; nil = http.DefaultClient
	Log        *slog.Logger
	// PublicHost is where the engine is reachable from here. Empty means the
	// daemon is local: the engine binds 127.0.0.1. Otherwise (DOCKER_HOST on
	// another machine) it binds 0.0.0.0 and URLs use PublicHost.
	PublicHost string
	// Flavor forces the command dialect; empty = FlavorOf(image).
	Flavor Flavor
	// StopTimeout is the grace period before SIGKILL on Stop; 10s when zero.
	StopTimeout time.Duration
	// TailLines is how many log lines an ExitError carries; 30 when zero.
	TailLines int
	// APITimeout bounds each Docker API call that returns one answer;
	// DefaultDockerAPITimeout when zero.
	APITimeout time.Duration
	// PullIdleTimeout ends a pull whose progress is silent that long;
	// DefaultPullIdleTimeout when zero.
	PullIdleTimeout time.Duration
}

// Docker runs engines as pinned containers with host networking.
type Docker struct {
	cfg  DockerConfig
	arch string
	mu   sync.Mutex
}

// NewDocker returns the docker driver.
func NewDocker(cfg DockerConfig) (*Docker, error) {
	if cfg.Client == nil {
		return nil, errors.New("docker driver: no Docker client")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.TailLines <= 0 {
		cfg.TailLines = 30
	}
	cfg.Client = withDeadlines(cfg.Client, cfg.APITimeout)
	return &Docker{cfg: cfg}, nil
}

// Name implements Driver.
func (*Docker) Name() string { return "docker" }

// ContainerSpec is exactly what the driver asks the Docker engine to create.
type ContainerSpec struct {
	Name       string
	Config     *container.Config
	HostConfig *container.HostConfig
	URL        string
	// Dropped are extra arguments the image's dialect does not take (vLLM
	// flags given to the simulator image), left off the command.
	Dropped []string
	secrets []string // env names whose values are secret
}

// Redacted returns a copy whose secret env values read "<redacted>", for
// printing (runner start --dry-run) and logs.
func (c ContainerSpec) Redacted() ContainerSpec {
	cfg := *c.Config
	cfg.Env = slices.Clone(c.Config.Env)
	for i, kv := range cfg.Env {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(c.secrets, k) {
			cfg.Env[i] = k + "=<redacted>"
		}
	}
	c.Config = &cfg
	return c
}

// arch asks the daemon once which architecture it runs on; the engine runs
// there, which with DOCKER_HOST need not be this machine.
func (d *Docker) daemonArch(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.arch != "" {
		return d.arch, nil
	}
	v, err := d.cfg.Client.ServerVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("docker: %w", err)
	}
	d.arch = v.Arch
	return d.arch, nil
}

// Build returns the container spec for spec without touching containers:
// what Start creates and what a dry run prints. The name gets a random
// suffix so that parallel and leftover instances never collide.
func (d *Docker) Build(ctx context.Context, spec Spec) (ContainerSpec, error) {
	ref := spec.Image
	if ref == "" {
		arch, err := d.daemonArch(ctx)
		if err != nil {
			return ContainerSpec{}, err
		}
		if ref, err = DefaultImage(arch); err != nil {
			return ContainerSpec{}, err
		}
	}
	return BuildContainer(spec, ref, d.cfg.Flavor, d.cfg.PublicHost, randomSuffix())
}

var nameChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// BuildContainer is the pure part of Build: spec and image to container
// config, host config and URL. flavor "" means FlavorOf(ref); publicHost ""
// means a local daemon.
func BuildContainer(spec Spec, ref string, flavor Flavor, publicHost, suffix string) (ContainerSpec, error) {
	if spec.Model == "" {
		return ContainerSpec{}, errors.New("spec: model is required for the docker engine")
	}
	if flavor == "" {
		flavor = FlavorOf(ref)
	}
	port := spec.Port
	if port == 0 {
		port = DefaultPort
	}
	if port < 1 || port > 65535 {
		return ContainerSpec{}, fmt.Errorf("spec: port %d out of range", port)
	}
	bind, urlHost := "127.0.0.1", "127.0.0.1"
	if spec.Host != "" {
		bind, urlHost = spec.Host, spec.Host
	}
	if publicHost != "" {
		bind, urlHost = "0.0.0.0", publicHost
	}
	served := spec.ServedName
	if served == "" {
		served = spec.Model
	}
	name := "servebench-engine"
	if spec.Name != "" {
		name = "servebench-" + strings.Trim(nameChars.ReplaceAllString(spec.Name, "-"), "-")
	}
	if suffix != "" {
		name += "-" + suffix
	}

	var cmd []string
	switch flavor {
	case FlavorVLLM:
		cmd = []string{spec.Model, "--host", bind, "--port", strconv.Itoa(port), "--served-model-name", served}
	case FlavorSim:
		cmd = []string{"--model", spec.Model, "--host", bind, "--port", strconv.Itoa(port), "--served-model-name", served}
	default:
		return ContainerSpec{}, fmt.Errorf("flavor %q: want vllm or sim", flavor)
	}
	extra := spec.ExtraArgs
	var dropped []string
	if flavor == FlavorSim {
		extra, dropped = SimArgs(extra)
	}
	cmd = append(cmd, extra...)
	if flavor == FlavorVLLM && !hasFlag(extra, "--dtype") {
		// vLLM CPU docs: bfloat16; float16 is unstable on CPU.
		cmd = append(cmd, "--dtype", "bfloat16")
	}
	var entrypoint []string
	if len(spec.Command) > 0 {
		// A one-shot engine command: both images have the vllm command.
		entrypoint, cmd, dropped = spec.Command[:1], spec.Command[1:], nil
	}

	env := map[string]string{}
	cpuset := topology.FormatList(spec.CPUs)
	if cpuset != "" {
		// Bind OMP threads to the container's cpuset explicitly: whether
		// vLLM's "auto" honours a container cpuset is unverified.
		env["VLLM_CPU_OMP_THREADS_BIND"] = cpuset
	}
	if spec.KVCacheGiB > 0 {
		env["VLLM_CPU_KVCACHE_SPACE"] = strconv.FormatFloat(spec.KVCacheGiB, 'f', -1, 64)
	}
	maps.Copy(env, spec.Env)
	var secretNames []string
	for k, v := range spec.Secrets {
		env[k] = v
		secretNames = append(secretNames, k)
	}
	if spec.APIKey != "" {
		// vLLM reads its --api-key default from VLLM_API_KEY; an env var
		// keeps the key off the command line that ps and inspect show.
		env["VLLM_API_KEY"] = spec.APIKey
		secretNames = append(secretNames, "VLLM_API_KEY")
	}
	slices.Sort(secretNames)
	envList := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envList = append(envList, k+"="+env[k])
	}

	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[contract.ContainerRoleLabel] = string(contract.RoleEngine)
	labels[ContainerInstanceLabel] = spec.Name
	labels[ContainerModelLabel] = served
	url := "http://" + urlHost + ":" + strconv.Itoa(port)
	if len(spec.Command) == 0 {
		labels[ContainerPortLabel] = strconv.Itoa(port)
	} else {
		url = ""
	}

	shm := spec.ShmSize
	if shm == 0 {
		shm = DefaultShmSize
	}
	host := &container.HostConfig{
		NetworkMode: network.NetworkHost,
		ShmSize:     shm,
		CapAdd:      []string{"SYS_NICE"},
		// NUMA syscalls (get_mempolicy, migrate_pages) need seccomp off too.
		SecurityOpt:   []string{"seccomp=unconfined"},
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources: container.Resources{
			CpusetCpus: cpuset,
			CpusetMems: topology.FormatList(spec.Mems),
		},
	}
	if spec.ModelCache != "" {
		host.Binds = []string{spec.ModelCache + ":" + HFCacheMount}
	}
	host.Binds = append(host.Binds, spec.Binds...)
	return ContainerSpec{
		Name: name,
		Config: &container.Config{
			Image:      ref,
			Entrypoint: entrypoint,
			Cmd:        cmd,
			Env:        envList,
			Labels:     labels,
		},
		HostConfig: host,
		URL:        url,
		Dropped:    dropped,
		secrets:    secretNames,
	}, nil
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

func randomSuffix() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Start pulls the image if it is missing, creates and starts the container,
// and streams its logs to Spec.LogDir. On any error the container is removed.
func (d *Docker) Start(ctx context.Context, spec Spec) (Instance, error) {
	cs, err := d.Build(ctx, spec)
	if err != nil {
		return nil, err
	}
	if port, serving := cs.Config.Labels[ContainerPortLabel]; serving {
		if err := d.portFree(ctx, port); err != nil {
			return nil, err
		}
	}
	img, err := ensureImage(ctx, d.cfg.Client, cs.Config.Image, d.cfg.Log, d.cfg.PullIdleTimeout)
	if err != nil {
		return nil, err
	}
	red := cs.Redacted()
	if len(cs.Dropped) > 0 {
		d.cfg.Log.Info("flags the simulator does not take, left off", "args", strings.Join(cs.Dropped, " "))
	}
	d.cfg.Log.Info("creating engine container", "name", cs.Name, "image", cs.Config.Image, "cpuset", cs.HostConfig.CpusetCpus,
		"mems", cs.HostConfig.CpusetMems, "cmd", strings.Join(cs.Config.Cmd, " "), "env", strings.Join(red.Config.Env, " "))
	created, err := d.cfg.Client.ContainerCreate(ctx, cs.Config, cs.HostConfig, nil, nil, cs.Name)
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", cs.Name, err)
	}
	inst := &dockerInstance{
		d: d, spec: spec, cs: cs, id: created.ID,
		died: make(chan error, 1), tail: newTail(d.cfg.TailLines),
		logDone: make(chan struct{}), waitDone: make(chan struct{}),
		model: cs.Config.Labels[ContainerModelLabel],
	}
	inst.info = Info{
		Driver: "docker", URL: cs.URL, Model: inst.model, Image: cs.Config.Image, ImageID: img.ID,
		ContainerID: created.ID, ContainerName: cs.Name, CPUSet: cs.HostConfig.CpusetCpus, MemSet: cs.HostConfig.CpusetMems,
		Labels: maps.Clone(cs.Config.Labels), SecretNames: cs.secrets,
	}
	if len(img.RepoDigests) > 0 {
		inst.info.ImageDigest = img.RepoDigests[0]
	}
	inst.info.Env = map[string]string{}
	for _, kv := range red.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		if !slices.Contains(cs.secrets, k) {
			inst.info.Env[k] = v
		}
	}
	if err := inst.openLog(); err != nil {
		inst.remove(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := d.cfg.Client.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		inst.remove(context.WithoutCancel(ctx))
		inst.closeLog()
		return nil, fmt.Errorf("start container %s: %w", cs.Name, err)
	}
	var watch context.Context
	watch, inst.cancelWatch = context.WithCancel(context.WithoutCancel(ctx))
	go inst.streamLogs(watch)
	go inst.watch(watch)
	return inst, nil
}

// portFree fails when a running servebench engine container already holds
// port: with host networking the new engine could not bind it, and the
// holder is usually left over from a run that was killed.
func (d *Docker) portFree(ctx context.Context, port string) error {
	list, err := d.cfg.Client.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", contract.ContainerRoleLabel+"="+string(contract.RoleEngine)),
		filters.Arg("label", ContainerPortLabel+"="+port))})
	if err != nil {
		return fmt.Errorf("docker: list engine containers: %w", err)
	}
	if len(list) == 0 {
		return nil
	}
	c := list[0]
	name := c.ID
	if len(c.Names) > 0 {
		name = strings.TrimPrefix(c.Names[0], "/")
	}
	return fmt.Errorf("port %s is held by engine container %s (run %q), probably left by an interrupted run; remove it with: docker rm -f %s",
		port, name, c.Labels[contract.ContainerRunIDLabel], name)
}

// EnsureImage returns the local image ref, pulling it first when missing and
// logging pull progress every few seconds. Each call to the daemon is
// bounded by DefaultDockerAPITimeout, and a pull whose progress is silent
// for DefaultPullIdleTimeout fails.
func EnsureImage(ctx context.Context, c DockerAPI, ref string, log *slog.Logger) (image.InspectResponse, error) {
	return ensureImage(ctx, withDeadlines(c, 0), ref, log, 0)
}

func ensureImage(ctx context.Context, c DockerAPI, ref string, log *slog.Logger, idle time.Duration) (image.InspectResponse, error) {
	if idle <= 0 {
		idle = DefaultPullIdleTimeout
	}
	img, err := c.ImageInspect(ctx, ref)
	if err == nil {
		return img, nil
	}
	if !client.IsErrNotFound(err) {
		return img, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	log.Info("pulling image", "image", ref)
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	silent := fmt.Errorf("%w: no pull progress for %s", ErrDockerTimeout, idle)
	stall := time.AfterFunc(idle, func() { cancel(silent) })
	rc, err := c.ImagePull(pctx, ref, image.PullOptions{})
	if err != nil {
		stall.Stop()
		if context.Cause(pctx) == silent {
			err = silent
		}
		return img, fmt.Errorf("pull image %s: %w", ref, err)
	}
	stall.Stop()
	ir := newIdleReader(rc, idle, cancel, silent)
	err = followPull(ir, ref, log, 5*time.Second)
	ir.stop()
	rc.Close()
	if err != nil {
		return img, err
	}
	img, err = c.ImageInspect(ctx, ref)
	if err != nil {
		return img, fmt.Errorf("inspect pulled image %s: %w", ref, err)
	}
	return img, nil
}

// followPull reads the daemon's JSON progress stream: per-layer byte counts,
// logged as one total at most every `every`; an error message ends the pull.
func followPull(r io.Reader, ref string, log *slog.Logger, every time.Duration) error {
	type msg struct {
		Status   string `json:"status"`
		ID       string `json:"id"`
		Progress struct {
			Current int64 `json:"current"`
			Total   int64 `json:"total"`
		} `json:"progressDetail"`
		Error string `json:"error"`
	}
	cur, tot := map[string]int64{}, map[string]int64{}
	last := time.Now()
	dec := json.NewDecoder(r)
	for {
		var m msg
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("pull image %s: reading progress: %w", ref, err)
		}
		if m.Error != "" {
			return fmt.Errorf("pull image %s: %s", ref, m.Error)
		}
		if m.ID != "" && m.Progress.Total > 0 && m.Status == "Downloading" {
			cur[m.ID], tot[m.ID] = m.Progress.Current, m.Progress.Total
		}
		if m.Status == "Download complete" || m.Status == "Pull complete" {
			cur[m.ID] = tot[m.ID]
		}
		if time.Since(last) >= every {
			last = time.Now()
			var c, t int64
			for id := range tot {
				c, t = c+cur[id], t+tot[id]
			}
			log.Info("pulling image", "image", ref, "layers", len(tot), "downloaded_mib", c>>20, "total_mib", t>>20)
		}
	}
	log.Info("pulled image", "image", ref)
	return nil
}

type dockerInstance struct {
	d    *Docker
	spec Spec
	cs   ContainerSpec
	id   string

	died        chan error
	tail        *tail
	logFile     *os.File
	logDone     chan struct{}
	waitDone    chan struct{}
	cancelWatch context.CancelFunc

	mu       sync.Mutex
	model    string
	info     Info
	stopping bool
	stopped  bool
	stopErr  error
}

func (i *dockerInstance) URL() string { return i.cs.URL }

func (i *dockerInstance) Model() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.model
}

func (i *dockerInstance) Info() Info {
	i.mu.Lock()
	defer i.mu.Unlock()
	info := i.info
	info.Env = maps.Clone(i.info.Env)
	info.Labels = maps.Clone(i.info.Labels)
	return info
}

func (i *dockerInstance) Died() <-chan error { return i.died }

func (i *dockerInstance) Ready(ctx context.Context) error {
	p, err := Probe(ctx, i.d.cfg.HTTPClient, i.d.cfg.Log.With("container", i.cs.Name), ProbeConfig{
		URL: i.cs.URL, APIKey: i.spec.APIKey, Model: i.Model(), Task: i.spec.Task,
		Timeout: i.spec.ReadyTimeout, Died: i.died,
	})
	if err != nil {
		var exit *ExitError
		if errors.As(err, &exit) {
			return err
		}
		return fmt.Errorf("engine container %s: %w%s", i.cs.Name, err, i.tail.suffix())
	}
	i.mu.Lock()
	i.model = p.Model
	i.info.Model, i.info.ModelRoot, i.info.MaxModelLen, i.info.EngineVersion = p.Model, p.Root, p.MaxModelLen, p.Version
	i.mu.Unlock()
	return nil
}

func (i *dockerInstance) openLog() error {
	if i.spec.LogDir == "" {
		return nil
	}
	if err := os.MkdirAll(i.spec.LogDir, 0o755); err != nil {
		return fmt.Errorf("log dir: %w", err)
	}
	name := i.spec.Name
	if name == "" {
		name = "engine"
	}
	p := filepath.Join(i.spec.LogDir, nameChars.ReplaceAllString(name, "-")+".log")
	f, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("engine log: %w", err)
	}
	i.logFile = f
	i.info.LogPath = p
	return nil
}

func (i *dockerInstance) closeLog() {
	if i.logFile != nil {
		i.logFile.Close()
	}
}

// streamLogs follows the container's stdout and stderr into the log file and
// the tail buffer until the container ends or the watch is cancelled.
func (i *dockerInstance) streamLogs(ctx context.Context) {
	defer close(i.logDone)
	rc, err := i.d.cfg.Client.ContainerLogs(ctx, i.id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		i.d.cfg.Log.Warn("engine logs unavailable", "container", i.cs.Name, "err", err)
		return
	}
	defer rc.Close()
	var sink io.Writer = i.tail
	if i.logFile != nil {
		sink = io.MultiWriter(i.logFile, i.tail)
	}
	// An engine may print its arguments and environment (vLLM logs its
	// non-default args, the API key among them): the secrets never reach
	// the log file or an error's last lines.
	lw := redact.NewLineWriter(sink, specRedactor(i.spec))
	defer lw.Flush()
	// Containers without a TTY multiplex stdout and stderr in 8-byte framed
	// records; both go to one log, in arrival order.
	if _, err := stdcopy.StdCopy(lw, lw, rc); err != nil && ctx.Err() == nil {
		i.d.cfg.Log.Warn("engine log stream ended", "container", i.cs.Name, "err", err)
	}
}

// specRedactor masks an engine's secrets: its API key and secret
// environment values.
func specRedactor(s Spec) *redact.Redactor {
	secrets := []string{s.APIKey}
	for _, v := range s.Secrets {
		secrets = append(secrets, v)
	}
	return redact.New(secrets...)
}

// watch waits for the container to stop; if nobody asked it to, it reports
// the death on Died with the exit code, OOM flag and last log lines.
func (i *dockerInstance) watch(ctx context.Context) {
	defer close(i.waitDone)
	okC, errC := i.d.cfg.Client.ContainerWait(ctx, i.id, container.WaitConditionNotRunning)
	exit := &ExitError{Name: i.cs.Name, ExitCode: -1}
	select {
	case r := <-okC:
		exit.ExitCode = int(r.StatusCode)
		if r.Error != nil && r.Error.Message != "" {
			exit.Err = errors.New(r.Error.Message)
		}
	case err := <-errC:
		if ctx.Err() != nil {
			return // Stop cancelled the watch
		}
		exit.Err = fmt.Errorf("waiting for container: %w", err)
	}
	i.mu.Lock()
	stopping := i.stopping
	i.mu.Unlock()
	if stopping {
		return
	}
	if st, err := i.d.cfg.Client.ContainerInspect(ctx, i.id); err == nil && st.State != nil {
		exit.OOMKilled = st.State.OOMKilled
		if exit.ExitCode < 0 {
			exit.ExitCode = st.State.ExitCode
		}
	}
	// The log stream ends with the container; give it a moment to drain so
	// the last lines are the real last lines.
	select {
	case <-i.logDone:
	case <-time.After(2 * time.Second):
	}
	exit.LastLines = i.tail.lines()
	if len(i.spec.Command) > 0 && exit.ExitCode == 0 {
		i.d.cfg.Log.Info("engine command finished", "container", i.cs.Name)
	} else {
		i.d.cfg.Log.Error("engine died", "container", i.cs.Name, "exit_code", exit.ExitCode, "oom", exit.OOMKilled)
	}
	i.died <- exit
}

// RunCommand runs spec.Command to completion in an engine container (a
// one-shot engine job such as vllm bench throughput) with the engine's
// pinning, environment and log (in Spec.LogDir), then removes it. It
// returns the container's provenance, and nil when the command exited 0,
// else its *ExitError (exit code, OOM flag, last log lines) or ctx's error.
func (d *Docker) RunCommand(ctx context.Context, spec Spec) (Info, error) {
	if len(spec.Command) == 0 {
		return Info{}, errors.New("spec: no command to run")
	}
	inst, err := d.Start(ctx, spec)
	if err != nil {
		return Info{}, err
	}
	defer inst.Stop(context.WithoutCancel(ctx))
	select {
	case err := <-inst.Died():
		var exit *ExitError
		if errors.As(err, &exit) && exit.ExitCode == 0 && exit.Err == nil && !exit.OOMKilled {
			err = nil
		}
		return inst.Info(), err
	case <-ctx.Done():
		return inst.Info(), ctx.Err()
	}
}

// Stop stops and removes the container (force), waits for the log stream to
// end, and closes Died. It works with a cancelled ctx: removal gets its own
// bounded context so that an interrupt never leaves a container behind.
func (i *dockerInstance) Stop(ctx context.Context) error {
	i.mu.Lock()
	if i.stopped {
		err := i.stopErr
		i.mu.Unlock()
		return err
	}
	i.stopping = true
	i.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), i.d.cfg.StopTimeout+30*time.Second)
	defer cancel()
	secs := int(i.d.cfg.StopTimeout / time.Second)
	stopErr := i.d.cfg.Client.ContainerStop(ctx, i.id, container.StopOptions{Timeout: &secs})
	if stopErr != nil && client.IsErrNotFound(stopErr) {
		stopErr = nil
	}
	select { // the log stream ends when the container does
	case <-i.logDone:
	case <-time.After(5 * time.Second):
	}
	err := errors.Join(stopErr, i.remove(ctx))
	i.cancelWatch()
	<-i.waitDone
	<-i.logDone
	i.closeLog()
	close(i.died)
	i.d.cfg.Log.Info("engine container removed", "container", i.cs.Name)

	i.mu.Lock()
	i.stopped, i.stopErr = true, err
	i.mu.Unlock()
	if err != nil {
		return fmt.Errorf("stop engine container %s: %w", i.cs.Name, err)
	}
	return nil
}

func (i *dockerInstance) remove(ctx context.Context) error {
	err := i.d.cfg.Client.ContainerRemove(ctx, i.id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("remove container %s: %w", i.cs.Name, err)
	}
	return nil
}

// tail keeps the last n complete lines written to it.
type tail struct {
	mu      sync.Mutex
	n       int
	partial []byte
	buf     []string
}

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	data := append(t.partial, p...)
	for {
		k := bytes.IndexByte(data, '\n')
		if k < 0 {
			break
		}
		t.buf = append(t.buf, strings.TrimRight(string(data[:k]), "\r"))
		data = data[k+1:]
	}
	if len(data) > 64<<10 { // a runaway line without newline: keep its end
		data = data[len(data)-64<<10:]
	}
	t.partial = slices.Clone(data)
	if len(t.buf) > t.n {
		t.buf = slices.Clone(t.buf[len(t.buf)-t.n:])
	}
	return len(p), nil
}

// lines returns the kept lines, with a trailing partial line if any.
func (t *tail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.buf)
	if len(t.partial) > 0 {
		out = append(out, string(t.partial))
		if len(out) > t.n {
			out = out[len(out)-t.n:]
		}
	}
	return out
}

// suffix renders the tail for an error message, or "" when empty.
func (t *tail) suffix() string {
	l := t.lines()
	if len(l) == 0 {
		return ""
	}
	if len(l) > 10 {
		l = l[len(l)-10:]
	}
	return "; last log lines:\n  " + strings.Join(l, "\n  ")
}
