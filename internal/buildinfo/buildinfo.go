// Package buildinfo says which servebench a binary is: its version, the
// commit it was built from and the Go toolchain, as every binary's
// --version prints them, servebench_build_info exposes them and the run
// manifest records them.
//
// The version and commit are set at link time (make build and the image
// recipes pass -ldflags "-X github.com/servebench/servebench/internal/buildinfo.version=...
// -X .../buildinfo.commit=..."); without them, the module version and the
// VCS stamp that go build records are used, and a go run binary, which has
// neither, says "devel" with no commit.
package buildinfo

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/exporter/contract"
)

// Set by the linker.
var version, commit string

// Info is one build's identity.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"` // "" when unknown; "-dirty" when built from a modified tree
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

var get = sync.OnceValue(func() Info {
	i := Info{Version: version, Commit: commit, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if ok && i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		i.Version = bi.Main.Version
	}
	if ok && i.Commit == "" {
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if i.Commit != "" && dirty {
			i.Commit += "-dirty"
		}
	}
	if i.Version == "" {
		i.Version = "devel"
	}
	return i
})

// Get returns this binary's build information.
func Get() Info { return get() }

// String is the --version line of program, e.g. "runner version v0.3.0
// (commit 47cc4a4d1e0d, go1.26.8, linux/amd64)".
func (i Info) String(program string) string {
	c := i.Commit
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("%s version %s (commit %s, %s, %s/%s)", program, i.Version, c, i.GoVersion, i.OS, i.Arch)
}

// Collector exposes servebench_build_info for this binary.
func Collector() prometheus.Collector { return infoCollector{} }

type infoCollector struct{}

var desc = prometheus.NewDesc(contract.BuildInfo.Name, contract.BuildInfo.Help, contract.BuildInfo.Labels, nil)

func (infoCollector) Describe(ch chan<- *prometheus.Desc) { ch <- desc }

func (infoCollector) Collect(ch chan<- prometheus.Metric) {
	i := Get()
	ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 1, i.Version, i.Commit, i.GoVersion, i.OS, i.Arch)
}

// Revision is the build's VCS revision, else the working tree's HEAD (go
// run does not stamp one), else "".
func Revision(ctx context.Context) string {
	if c := Get().Commit; c != "" {
		return c
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
