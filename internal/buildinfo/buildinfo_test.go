package buildinfo

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStringAndCollector(t *testing.T) {
	i := Info{Version: "v1.2.3", Commit: "abc-dirty", GoVersion: "go1.26.8", OS: "linux", Arch: "arm64"}
	if got := i.String("exporter"); got != "exporter version v1.2.3 (commit abc-dirty, go1.26.8, linux/arm64)" {
		t.Errorf("String = %q", got)
	}
	if got := (Info{Version: "devel", GoVersion: "go1", OS: "linux", Arch: "amd64"}).String("runner"); !strings.Contains(got, "commit unknown") {
		t.Errorf("no commit: %q", got)
	}
	g := Get()
	if g.Version == "" || g.GoVersion == "" || g.Arch == "" {
		t.Errorf("Get = %+v", g)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(Collector())
	want := `# HELP servebench_build_info Always 1, labelled with the servebench build serving it, as its --version prints it.
# TYPE servebench_build_info gauge
servebench_build_info{goarch="` + g.Arch + `",goos="` + g.OS + `",goversion="` + g.GoVersion + `",revision="` + g.Commit + `",version="` + g.Version + `"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
