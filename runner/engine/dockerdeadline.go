package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Deadlines of Docker Engine API calls when DockerConfig leaves them zero.
const (
	// DefaultDockerAPITimeout bounds each request-and-answer call
	// (version, inspect, list, create, start, remove): a daemon that
	// accepts the connection and never answers fails the cell instead of
	// hanging it.
	DefaultDockerAPITimeout = time.Minute
	// DefaultPullIdleTimeout ends an image pull whose progress stream has
	// been silent that long (a pull of gigabytes may take long, but not
	// without a word).
	DefaultPullIdleTimeout = 5 * time.Minute
)

// ErrDockerTimeout is wrapped by the error of a Docker API call that got no
// answer within its deadline.
var ErrDockerTimeout = errors.New("the Docker daemon did not answer")

// deadlineDocker bounds every call of the Docker API that returns one
// answer; the streams (logs, wait, pull progress) are left to their
// callers, which follow them for as long as a container lives.
type deadlineDocker struct {
	DockerAPI
	d time.Duration
}

// withDeadlines wraps c so that each call returning one answer gets d.
func withDeadlines(c DockerAPI, d time.Duration) DockerAPI {
	if d <= 0 {
		d = DefaultDockerAPITimeout
	}
	return deadlineDocker{DockerAPI: c, d: d}
}

// call runs fn under the deadline and names the call when it fired.
func (c deadlineDocker) call(ctx context.Context, what string, fn func(context.Context) error) error {
	cause := fmt.Errorf("%w to %s within %s", ErrDockerTimeout, what, c.d)
	ctx, cancel := context.WithTimeoutCause(ctx, c.d, cause)
	defer cancel()
	err := fn(ctx)
	if err != nil && context.Cause(ctx) == cause {
		return cause
	}
	return err
}

func (c deadlineDocker) ServerVersion(ctx context.Context) (v types.Version, err error) {
	err = c.call(ctx, "GET /version", func(ctx context.Context) error { v, err = c.DockerAPI.ServerVersion(ctx); return err })
	return v, err
}

func (c deadlineDocker) ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (r image.InspectResponse, err error) {
	err = c.call(ctx, "inspect image "+ref, func(ctx context.Context) error {
		r, err = c.DockerAPI.ImageInspect(ctx, ref, opts...)
		return err
	})
	return r, err
}

func (c deadlineDocker) ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (r container.CreateResponse, err error) {
	err = c.call(ctx, "create container "+name, func(ctx context.Context) error {
		r, err = c.DockerAPI.ContainerCreate(ctx, cfg, host, net, platform, name)
		return err
	})
	return r, err
}

func (c deadlineDocker) ContainerStart(ctx context.Context, id string, opts container.StartOptions) error {
	return c.call(ctx, "start container "+shortID(id), func(ctx context.Context) error { return c.DockerAPI.ContainerStart(ctx, id, opts) })
}

func (c deadlineDocker) ContainerInspect(ctx context.Context, id string) (r container.InspectResponse, err error) {
	err = c.call(ctx, "inspect container "+shortID(id), func(ctx context.Context) error {
		r, err = c.DockerAPI.ContainerInspect(ctx, id)
		return err
	})
	return r, err
}

func (c deadlineDocker) ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error {
	return c.call(ctx, "remove container "+shortID(id), func(ctx context.Context) error { return c.DockerAPI.ContainerRemove(ctx, id, opts) })
}

func (c deadlineDocker) ContainerList(ctx context.Context, opts container.ListOptions) (r []container.Summary, err error) {
	err = c.call(ctx, "list containers", func(ctx context.Context) error { r, err = c.DockerAPI.ContainerList(ctx, opts); return err })
	return r, err
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// idleReader cancels a stream's context when no byte has arrived for d: a
// pull whose progress stopped ends with an error instead of hanging.
type idleReader struct {
	r      io.Reader
	d      time.Duration
	timer  *time.Timer
	mu     sync.Mutex
	fired  bool
	cancel context.CancelCauseFunc
	cause  error
}

func newIdleReader(r io.Reader, d time.Duration, cancel context.CancelCauseFunc, cause error) *idleReader {
	ir := &idleReader{r: r, d: d, cancel: cancel, cause: cause}
	ir.timer = time.AfterFunc(d, func() {
		ir.mu.Lock()
		ir.fired = true
		ir.mu.Unlock()
		cancel(cause)
	})
	return ir
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.d)
	}
	ir.mu.Lock()
	fired := ir.fired
	ir.mu.Unlock()
	if err != nil && fired {
		return n, ir.cause
	}
	return n, err
}

func (ir *idleReader) stop() { ir.timer.Stop() }
