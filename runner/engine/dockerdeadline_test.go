package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// silentDaemon accepts every call and never answers until its context ends;
// its pull sends one progress line, then falls silent.
type silentDaemon struct{ DockerAPI }

func (silentDaemon) ContainerCreate(ctx context.Context, _ *container.Config, _ *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, _ string) (container.CreateResponse, error) {
	<-ctx.Done()
	return container.CreateResponse{}, ctx.Err()
}

func (silentDaemon) ImageInspect(context.Context, string, ...client.ImageInspectOption) (image.InspectResponse, error) {
	return image.InspectResponse{}, cerrdefs.ErrNotFound
}

func (silentDaemon) ImagePull(ctx context.Context, _ string, _ image.PullOptions) (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"status":"Pulling fs layer","id":"a"}` + "\n"))
		<-ctx.Done()
		pw.CloseWithError(ctx.Err())
	}()
	return pr, nil
}

func TestDockerCallsHaveDeadlines(t *testing.T) {
	c := withDeadlines(silentDaemon{}, 100*time.Millisecond)
	start := time.Now()
	_, err := c.ContainerCreate(context.Background(), nil, nil, nil, nil, "servebench-x")
	if !errors.Is(err, ErrDockerTimeout) || !strings.Contains(err.Error(), "create container servebench-x within 100ms") {
		t.Errorf("create = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("create returned after %s", d)
	}
	// A caller's own cancellation is not reported as the daemon's silence.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ContainerCreate(ctx, nil, nil, nil, nil, "x"); errors.Is(err, ErrDockerTimeout) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled create = %v", err)
	}
}

func TestSilentPullFails(t *testing.T) {
	start := time.Now()
	_, err := ensureImage(context.Background(), withDeadlines(silentDaemon{}, time.Second), "vllm/vllm:x", slog.New(slog.DiscardHandler), 200*time.Millisecond)
	if !errors.Is(err, ErrDockerTimeout) || !strings.Contains(err.Error(), "pull image vllm/vllm:x") || !strings.Contains(err.Error(), "no pull progress for 200ms") {
		t.Errorf("pull = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("pull returned after %s", d)
	}
}
