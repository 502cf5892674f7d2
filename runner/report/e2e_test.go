package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/compare"
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

// widthProbe, appended to a copy of the page for the test only, writes the
// width of the body's content box and of every chart into the DOM.
const widthProbe = `<script>
const cs = getComputedStyle(document.body);
const content = document.body.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
const charts = [...document.querySelectorAll('svg.chart')].map(s => { const r = s.getBoundingClientRect(); return {width: r.width, top: r.top + window.scrollY, bottom: r.bottom + window.scrollY}; });
const pre = document.createElement('pre');
pre.id = 'servebench-widths';
pre.textContent = JSON.stringify({content: content, charts: charts});
document.body.appendChild(pre);
</script>`

// headless runs Chromium headless with a fresh profile and no network
// services of its own, with args after the common flags.
func headless(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic", "--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func near(c color.Color, hex string, tol int) bool {
	r, g, b, _ := c.RGBA()
	var wr, wg, wb int
	fmt.Sscanf(hex, "#%02x%02x%02x", &wr, &wg, &wb)
	d := func(a uint32, w int) int { return int(a>>8) - w }
	abs := func(v int) int { return max(v, -v) }
	return abs(d(r, wr)) <= tol && abs(d(g, wg)) <= tol && abs(d(b, wb)) <= tol
}

// versusPage writes a two-run A-vs-B report into dir and returns it, its
// path and its HTML.
func versusPage(t *testing.T, dir string) (*Report, string, string) {
	t.Helper()
	r := Build(Input{Sides: twoSides(t, dir, 3), Compare: compare.Options{Iterations: 200, Seed: 1}, Generated: time.Now()})
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return r, page, buf.String()
}

// TestE2EVersusReportFullWidth renders an A-vs-B report in headless
// Chromium at 1280 px: every chart is as wide as the page's content (the
// probe's layout figures), and the screenshot shows it — hundreds of pixel
// rows are spanned by a chart from one edge of the content to the other.
func TestE2EVersusReportFullWidth(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	r, page, html := versusPage(t, dir)
	probed := filepath.Join(dir, "probed.html")
	if err := os.WriteFile(probed, []byte(strings.Replace(html, "</body>", widthProbe+"\n</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := headless(t, bin, "--window-size=1280,2000", "--dump-dom", "file://"+probed)
	m := regexp.MustCompile(`<pre id="servebench-widths">([^<]*)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("probe did not run: %s", tail(dom))
	}
	var w struct {
		Content float64
		Charts  []struct{ Width, Top, Bottom float64 }
	}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(m[1]), "&quot;", `"`)), &w); err != nil {
		t.Fatal(err)
	}
	if len(w.Charts) != len(r.Charts) || w.Content < 1000 {
		t.Fatalf("%d charts laid out in %g px of content", len(w.Charts), w.Content)
	}
	for i, c := range w.Charts {
		if c.Width < 0.98*w.Content {
			t.Errorf("chart %s is %g px wide in %g px of content", r.Charts[i].ID, c.Width, w.Content)
		}
	}

	shot := filepath.Join(dir, "screenshot.png")
	headless(t, bin, "--window-size=1280,3000", "--hide-scrollbars", "--screenshot="+shot, "file://"+page)
	img := readPNG(t, shot)
	b := img.Bounds()
	// In the screenshot, each chart that lies in it spans the content: its
	// border and grid run from one edge to the other.
	checked := 0
	for i, c := range w.Charts {
		if c.Bottom > float64(b.Max.Y) {
			break
		}
		rows, wide := 0, 0
		for y := int(c.Top) + 2; y < int(c.Bottom)-2; y++ {
			lo, hi := -1, -1
			for x := b.Min.X; x < b.Max.X; x++ {
				if !near(img.At(x, y), "#ffffff", 6) {
					if lo < 0 {
						lo = x
					}
					hi = x
				}
			}
			rows++
			if lo >= 0 && float64(hi-lo) >= 0.97*w.Content {
				wide++
			}
		}
		if rows == 0 || float64(wide) < 0.9*float64(rows) {
			t.Errorf("chart %s: %d of its %d pixel rows span the content in %s", r.Charts[i].ID, wide, rows, shot)
		}
		checked++
	}
	if checked == 0 {
		t.Fatalf("no chart within the %d px screenshot", b.Dy())
	}
	t.Logf("screenshot %dx%d: %d charts span the %g px of content", b.Dx(), b.Dy(), checked, w.Content)
}

// TestE2EVersusReportPDF prints the report with PrintPDF and renders the
// PDF's first page with pdftoppm: an A4 landscape page with the title's
// dark text at the top and the regression banner in its colours.
func TestE2EVersusReportPDF(t *testing.T) {
	bin := chromium(t)
	pdftoppm := e2e.Require(t, "pdftoppm")
	dir := t.TempDir()
	_, page, _ := versusPage(t, dir)
	pdf := filepath.Join(dir, "report.pdf")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := PrintPDF(ctx, bin, page, pdf); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pdf + ".tmp"); err == nil {
		t.Error("the temporary PDF was left behind")
	}
	if out, err := exec.Command(pdftoppm, "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", pdf, filepath.Join(dir, "page1")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	img := readPNG(t, filepath.Join(dir, "page1.png"))
	b := img.Bounds()
	if b.Dx() <= b.Dy() {
		t.Errorf("first page %dx%d is not landscape", b.Dx(), b.Dy())
	}
	dark, banner, edge := 0, 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.At(x, y)
			switch {
			case y < b.Dy()/5 && near(c, "#222222", 60):
				dark++
			case near(c, "#f6d5c8", 10):
				banner++
			case near(c, "#D55E00", 30):
				edge++
			}
		}
	}
	if dark < 100 || banner < 500 || edge < 50 {
		t.Errorf("first page: %d dark pixels in the top fifth (title), %d of the regression banner, %d of its edge", dark, banner, edge)
	}
	t.Logf("first page %dx%d: %d title, %d banner, %d edge pixels", b.Dx(), b.Dy(), dark, banner, edge)
}
