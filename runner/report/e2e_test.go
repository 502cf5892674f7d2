package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
)

// probe is appended to a copy of the report for the test only (the report
// itself has no script): it measures every chart and every drawn series and
// writes the figures into the DOM, which --dump-dom prints.
const probe = `<script>
const out = [];
for (const svg of document.querySelectorAll('svg.chart')) {
  const r = svg.getBoundingClientRect();
  let drawn = 0, total = 0;
  for (const el of svg.querySelectorAll('.series')) {
    total++;
    const b = el.getBBox();
    if (b.width > 0 || b.height > 0) drawn++;
  }
  out.push({id: svg.id, width: r.width, height: r.height, drawn: drawn, total: total});
}
const pre = document.createElement('pre');
pre.id = 'servebench-probe';
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>`

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return e2e.Require(t, "chromium")
}

func TestE2EReportRendersInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	r := Build(Input{Title: "e2e", Cells: scalingRun(t, dir), CoreHourPrice: 0.05, Generated: time.Now()})
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := strings.Replace(buf.String(), "</body>", probe+"\n</body>", 1)
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-sync", "--user-data-dir="+t.TempDir(),
		"--window-size=1280,2000", "--dump-dom", "file://"+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`<pre id="servebench-probe">([^<]*)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("probe did not run; DOM tail: %s\nstderr: %s", tail(dom), stderr.String())
	}
	var charts []struct {
		ID            string
		Width, Height float64
		Drawn, Total  int
	}
	raw := strings.ReplaceAll(string(m[1]), "&quot;", `"`)
	if err := json.Unmarshal([]byte(raw), &charts); err != nil {
		t.Fatalf("probe output %q: %v", raw, err)
	}
	if len(charts) != len(r.Charts) {
		t.Fatalf("chromium saw %d charts, the report has %d", len(charts), len(r.Charts))
	}
	for _, c := range charts {
		if c.Width < 100 || c.Height < 50 || c.Total == 0 || c.Drawn != c.Total {
			t.Errorf("chart %s: %gx%g px, %d of %d series drawn", c.ID, c.Width, c.Height, c.Drawn, c.Total)
		}
	}
	t.Logf("%d charts rendered", len(charts))
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}
