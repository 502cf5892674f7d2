package orchestrate

import (
	"strings"
	"testing"
)

func TestNewDriverBadSSHDockerHost(t *testing.T) {
	env := map[string]string{"DOCKER_HOST": "ssh://builder@gpu-box/some/path"}
	_, _, err := NewDriver("docker", nil, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Fatalf("err = %v, want one naming DOCKER_HOST", err)
	}
}
