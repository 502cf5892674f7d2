package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestBuildContainerVLLMExactSpec(t *testing.T) {
	spec := Spec{
		Name: "scaling/cell 3", Model: "Qwen/Qwen3-0.6B", ServedName: "qwen3",
		CPUs: []int{4, 5, 6, 7}, Mems: []int{0}, KVCacheGiB: 2.5,
		Env:     map[string]string{"OMP_NUM_THREADS": "4"},
		Secrets: map[string]string{"HF_TOKEN": "hf_secret"},
		APIKey:  "sk-test", Port: 8123, ExtraArgs: []string{"--dtype", "bfloat16"},
		Labels:     map[string]string{"io.servebench.run_id": "r1"},
		ModelCache: "/data/hf",
	}
	cs, err := BuildContainer(spec, VLLMImageAMD64, "", "", "abc123")
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := &container.Config{
		Image: VLLMImageAMD64,
		Cmd:   []string{"Qwen/Qwen3-0.6B", "--host", "127.0.0.1", "--port", "8123", "--served-model-name", "qwen3", "--dtype", "bfloat16"},
		Env: []string{
			"HF_TOKEN=hf_secret", "OMP_NUM_THREADS=4", "VLLM_API_KEY=sk-test",
			"VLLM_CPU_KVCACHE_SPACE=2.5", "VLLM_CPU_OMP_THREADS_BIND=4-7",
		},
		Labels: map[string]string{
			"io.servebench.run_id": "r1", "io.servebench.role": "engine",
			"io.servebench.instance": "scaling/cell 3", "io.servebench.model": "qwen3", "io.servebench.port": "8123",
		},
	}
	wantHost := &container.HostConfig{
		NetworkMode:   "host",
		ShmSize:       4 << 30,
		CapAdd:        []string{"SYS_NICE"},
		SecurityOpt:   []string{"seccomp=unconfined"},
		RestartPolicy: container.RestartPolicy{Name: "no"},
		Resources:     container.Resources{CpusetCpus: "4-7", CpusetMems: "0"},
		Binds:         []string{"/data/hf:/root/.cache/huggingface"},
	}
	if !reflect.DeepEqual(cs.Config, wantCfg) {
		t.Errorf("config\n got %#v\nwant %#v", cs.Config, wantCfg)
	}
	if !reflect.DeepEqual(cs.HostConfig, wantHost) {
		t.Errorf("host config\n got %#v\nwant %#v", cs.HostConfig, wantHost)
	}
	if cs.Name != "servebench-scaling-cell-3-abc123" || cs.URL != "http://127.0.0.1:8123" {
		t.Errorf("name %q url %q", cs.Name, cs.URL)
	}
	red := strings.Join(cs.Redacted().Config.Env, " ")
	if strings.Contains(red, "hf_secret") || strings.Contains(red, "sk-test") || !strings.Contains(red, "HF_TOKEN=<redacted>") {
		t.Errorf("redacted env %s", red)
	}
	if !strings.Contains(strings.Join(cs.Config.Env, " "), "hf_secret") {
		t.Error("Redacted modified the original")
	}
}

func TestBuildContainerSimAndRemote(t *testing.T) {
	cs, err := BuildContainer(Spec{Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", CPUs: []int{0}}, SimImage, "", "gpu-box", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--host", "0.0.0.0", "--port", "8000", "--served-model-name", "TinyLlama/TinyLlama-1.1B-Chat-v1.0"}
	if !reflect.DeepEqual([]string(cs.Config.Cmd), want) {
		t.Errorf("cmd %q", cs.Config.Cmd)
	}
	if cs.URL != "http://gpu-box:8000" || cs.Name != "servebench-engine" || cs.HostConfig.CpusetCpus != "0" || cs.HostConfig.CpusetMems != "" {
		t.Errorf("url %q name %q host %+v", cs.URL, cs.Name, cs.HostConfig.Resources)
	}
	if _, err := BuildContainer(Spec{}, SimImage, "", "", ""); err == nil || err.Error() != "spec: model is required for the docker engine" {
		t.Errorf("missing model: %v", err)
	}
}

func TestDefaultImage(t *testing.T) {
	for arch, want := range map[string]string{"amd64": VLLMImageAMD64, "x86_64": VLLMImageAMD64, "arm64": VLLMImageARM64, "aarch64": VLLMImageARM64} {
		if got, err := DefaultImage(arch); err != nil || got != want {
			t.Errorf("DefaultImage(%s) = %q, %v", arch, got, err)
		}
	}
	if _, err := DefaultImage("s390x"); err == nil || !strings.Contains(err.Error(), `"s390x"`) {
		t.Errorf("s390x: %v", err)
	}
}

// fakeDocker is an in-memory Docker engine: one container at a time whose
// log stream and exit the test controls.
type fakeDocker struct {
	mu       sync.Mutex
	arch     string
	images   map[string]image.InspectResponse
	pulled   []string
	pullBody string
	created  *container.Config
	host     *container.HostConfig
	name     string
	calls    []string
	logW     *io.PipeWriter
	logR     *io.PipeReader
	waitC    chan container.WaitResponse
	oom      bool
	startErr error
	running  []container.Summary // what ContainerList answers
	listArgs filters.Args
}

func (f *fakeDocker) ContainerList(_ context.Context, o container.ListOptions) ([]container.Summary, error) {
	f.listArgs = o.Filters
	return f.running, nil
}

func newFakeDocker() *fakeDocker {
	r, w := io.Pipe()
	return &fakeDocker{arch: "amd64", images: map[string]image.InspectResponse{}, logR: r, logW: w, waitC: make(chan container.WaitResponse, 1)}
}

func (f *fakeDocker) call(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeDocker) ServerVersion(context.Context) (types.Version, error) {
	return types.Version{Arch: f.arch}, nil
}

func (f *fakeDocker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[ref]
	if !ok {
		return img, cerrdefs.ErrNotFound
	}
	return img, nil
}

func (f *fakeDocker) ImagePull(_ context.Context, ref string, _ image.PullOptions) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulled = append(f.pulled, ref)
	f.images[ref] = image.InspectResponse{ID: "sha256:pulled", RepoDigests: []string{"vllm/vllm-openai-cpu@sha256:feed"}}
	return io.NopCloser(strings.NewReader(f.pullBody)), nil
}

func (f *fakeDocker) ContainerCreate(_ context.Context, cfg *container.Config, host *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, name string) (container.CreateResponse, error) {
	f.call("create " + name)
	f.mu.Lock()
	f.created, f.host, f.name = cfg, host, name
	f.mu.Unlock()
	return container.CreateResponse{ID: "c0ffee"}, nil
}

func (f *fakeDocker) ContainerStart(_ context.Context, id string, _ container.StartOptions) error {
	f.call("start " + id)
	return f.startErr
}

func (f *fakeDocker) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	f.call("inspect " + id)
	return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: &container.State{OOMKilled: f.oom, ExitCode: 137}}}, nil
}

func (f *fakeDocker) ContainerLogs(_ context.Context, _ string, o container.LogsOptions) (io.ReadCloser, error) {
	if !o.Follow || !o.ShowStdout || !o.ShowStderr {
		return nil, errors.New("fake: want follow, stdout and stderr")
	}
	return f.logR, nil
}

func (f *fakeDocker) ContainerWait(ctx context.Context, _ string, _ container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	errC := make(chan error, 1)
	go func() { <-ctx.Done(); errC <- ctx.Err() }()
	return f.waitC, errC
}

// exit ends the container as the kernel would: the log stream closes and the
// wait returns the code.
func (f *fakeDocker) exit(code int64) {
	f.logW.Close()
	f.waitC <- container.WaitResponse{StatusCode: code}
}

func (f *fakeDocker) ContainerStop(_ context.Context, id string, o container.StopOptions) error {
	f.call("stop " + id + " after " + strconv.Itoa(*o.Timeout) + "s")
	f.exit(143)
	return nil
}

func (f *fakeDocker) ContainerRemove(_ context.Context, id string, o container.RemoveOptions) error {
	f.call("remove " + id + " force=" + strconv.FormatBool(o.Force))
	return nil
}

func (f *fakeDocker) log(stream stdcopy.StdType, s string) {
	w := stdcopy.NewStdWriter(f.logW, stream)
	if _, err := io.WriteString(w, s); err != nil {
		panic(err)
	}
}

func TestDockerDriverLifecycleAndDeath(t *testing.T) {
	srv := httptest.NewServer(&fakeServer{models: []string{"qwen3"}})
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	f := newFakeDocker()
	f.pullBody = `{"status":"Pulling fs layer","id":"l1"}` + "\n" +
		`{"status":"Downloading","id":"l1","progressDetail":{"current":10,"total":100}}` + "\n" +
		`{"status":"Pull complete","id":"l1"}` + "\n"
	dir := t.TempDir()
	d, err := NewDocker(DockerConfig{Client: f, HTTPClient: srv.Client(), Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := d.Start(context.Background(), Spec{Name: "cell", Model: "Qwen/Qwen3-0.6B", ServedName: "qwen3", Port: port, CPUs: []int{0, 1}, LogDir: dir,
		Secrets: map[string]string{"HF_TOKEN": "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.pulled, []string{VLLMImageAMD64}) {
		t.Errorf("pulled %v, want the amd64 default image", f.pulled)
	}
	f.log(stdcopy.Stdout, "INFO loading weights\n")
	f.log(stdcopy.Stderr, "WARNING slow\nINFO ")
	f.log(stdcopy.Stdout, "ready\n")
	if err := inst.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	info := inst.Info()
	if info.ImageDigest != "vllm/vllm-openai-cpu@sha256:feed" || info.ImageID != "sha256:pulled" || info.CPUSet != "0-1" ||
		info.EngineVersion != "0.11.0" || info.ContainerID != "c0ffee" || info.Env["HF_TOKEN"] != "" ||
		!reflect.DeepEqual(info.SecretNames, []string{"HF_TOKEN"}) || info.Env["VLLM_CPU_OMP_THREADS_BIND"] != "0-1" {
		t.Errorf("info %+v", info)
	}

	// The engine dies mid-run: the OOM killer, exit 137.
	f.oom = true
	f.log(stdcopy.Stderr, "RuntimeError: out of memory\n")
	f.exit(137)
	var exit *ExitError
	select {
	case err := <-inst.Died():
		if !errors.As(err, &exit) {
			t.Fatalf("died with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("death not reported")
	}
	wantLines := []string{"INFO loading weights", "WARNING slow", "INFO ready", "RuntimeError: out of memory"}
	if exit.ExitCode != 137 || !exit.OOMKilled || !reflect.DeepEqual(exit.LastLines, wantLines) {
		t.Errorf("exit %+v", exit)
	}
	f.waitC = make(chan container.WaitResponse, 1) // Stop's second exit must not block
	if err := inst.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err, ok := <-inst.Died(); ok {
		t.Errorf("Died not closed after Stop: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cell.log"))
	if err != nil || string(b) != "INFO loading weights\nWARNING slow\nINFO ready\nRuntimeError: out of memory\n" {
		t.Errorf("log file %q, %v", b, err)
	}
	calls := strings.Join(f.calls, "|")
	if !strings.HasPrefix(calls, "create servebench-cell-") || !strings.HasSuffix(calls, "|start c0ffee|inspect c0ffee|stop c0ffee after 10s|remove c0ffee force=true") {
		t.Errorf("calls %s", calls)
	}
}

func TestDockerStartFailureRemovesContainer(t *testing.T) {
	f := newFakeDocker()
	f.images[SimImage] = image.InspectResponse{ID: "sha256:sim"}
	f.startErr = errors.New("cpuset 99 not available")
	d, _ := NewDocker(DockerConfig{Client: f, Log: quiet()})
	_, err := d.Start(context.Background(), Spec{Model: "m", Image: SimImage})
	if err == nil || !strings.Contains(err.Error(), "cpuset 99 not available") {
		t.Fatalf("err %v", err)
	}
	if len(f.pulled) != 0 {
		t.Errorf("pulled %v although the image was present", f.pulled)
	}
	if want := "create servebench-engine-"; !strings.HasPrefix(f.calls[0], want) || f.calls[len(f.calls)-1] != "remove c0ffee force=true" {
		t.Errorf("calls %v", f.calls)
	}
}

func TestStopWhileRunningDoesNotReportDeath(t *testing.T) {
	f := newFakeDocker()
	f.images[SimImage] = image.InspectResponse{ID: "sha256:sim"}
	d, _ := NewDocker(DockerConfig{Client: f, Log: quiet()})
	inst, err := d.Start(context.Background(), Spec{Model: "m", Image: SimImage})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // an interrupt: Stop must still remove
	if err := inst.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err, ok := <-inst.Died(); ok || err != nil {
		t.Errorf("Died yielded %v, %v after a requested stop", err, ok)
	}
	if f.calls[len(f.calls)-1] != "remove c0ffee force=true" {
		t.Errorf("calls %v", f.calls)
	}
}

func TestSimArgs(t *testing.T) {
	kept, dropped := SimArgs([]string{"--max-model-len", "2048", "--no-enable-prefix-caching", "--dtype=bfloat16",
		"--distributed-executor-backend", "mp", "--enforce-eager", "--slowdown", "0.5", "--embedding", "--seed=3"})
	if want := []string{"--max-model-len", "2048", "--no-enable-prefix-caching", "--dtype=bfloat16", "--slowdown", "0.5", "--embedding", "--seed=3"}; !reflect.DeepEqual(kept, want) {
		t.Errorf("kept %q", kept)
	}
	if want := []string{"--distributed-executor-backend", "mp", "--enforce-eager"}; !reflect.DeepEqual(dropped, want) {
		t.Errorf("dropped %q", dropped)
	}
	cs, err := BuildContainer(Spec{Model: "m", ExtraArgs: []string{"--enable-prefix-caching", "--max-num-seqs", "8", "--enforce-eager"}}, SimImage, "", "", "")
	if err != nil || strings.Join(cs.Config.Cmd, " ") != "--model m --host 127.0.0.1 --port 8000 --served-model-name m --enable-prefix-caching --max-num-seqs 8" ||
		!reflect.DeepEqual(cs.Dropped, []string{"--enforce-eager"}) {
		t.Errorf("sim container cmd %q dropped %q %v", cs.Config.Cmd, cs.Dropped, err)
	}
	cs, _ = BuildContainer(Spec{Model: "m", ExtraArgs: []string{"--enable-prefix-caching"}}, VLLMImageAMD64, "", "", "")
	if strings.Join(cs.Config.Cmd, " ") != "m --host 127.0.0.1 --port 8000 --served-model-name m --enable-prefix-caching --dtype bfloat16" {
		t.Errorf("vllm keeps every flag: %q", cs.Config.Cmd)
	}
}

func TestDockerRefusesPortHeldByLeftover(t *testing.T) {
	f := newFakeDocker()
	f.images[SimImage] = image.InspectResponse{ID: "sha256:sim"}
	f.running = []container.Summary{{ID: "abc", Names: []string{"/servebench-old-cell-1a2b3c"}, Labels: map[string]string{"io.servebench.run_id": "20261126-1"}}}
	d, _ := NewDocker(DockerConfig{Client: f, Log: quiet()})
	_, err := d.Start(context.Background(), Spec{Model: "m", Image: SimImage, Port: 8001})
	want := `port 8001 is held by engine container servebench-old-cell-1a2b3c (run "20261126-1"), probably left by an interrupted run; remove it with: docker rm -f servebench-old-cell-1a2b3c`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if !f.listArgs.ExactMatch("label", "io.servebench.port=8001") {
		t.Errorf("list filters %v", f.listArgs)
	}
	if len(f.calls) != 0 {
		t.Errorf("created anyway: %v", f.calls)
	}
}
