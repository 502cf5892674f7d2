package orchestrate

import (
	"fmt"
	"io"
	"strconv"

	"github.com/servebench/servebench/runner/results"
)

// writeAudio prints the speech-to-text figures of the levels that have
// them, then the suite's audio report; absent figures print as —.
func writeAudio(w io.Writer, sums []*results.Summary, rows []AudioRow) {
	any := false
	for _, s := range sums {
		for _, b := range s.Benchmarks {
			any = any || b.Audio != nil
		}
	}
	if any {
		fmt.Fprintln(w, "\nspeech to text (RTF: end-to-end time over audio duration; error rates against the reference transcripts):")
		t := newTable("LEVEL\tRTF P50\tRTF P95\tAUDIO H/H\tFILES/H\tE2E P95 MS\tWER\tCER\tSCORED\t")
		for _, s := range sums {
			headed := false
			for _, b := range s.Benchmarks {
				a := b.Audio
				if a == nil {
					continue
				}
				if !headed {
					t.group(s.Cell)
					headed = true
				}
				rtf50, rtf95 := "—", "—"
				if a.RTF.Count > 0 {
					rtf50, rtf95 = fmt.Sprintf("%.3f", a.RTF.P50), fmt.Sprintf("%.3f", a.RTF.P95)
				}
				e2e := "—"
				if b.E2E.Count > 0 {
					e2e = fmt.Sprintf("%.0f", b.E2E.P95)
				}
				t.row("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t", b.Level, rtf50, rtf95, num(a.AudioHoursPerHour, 1),
					num(a.FilesPerHour, 0), e2e, pct(a.WER), pct(a.CER), a.Scored)
			}
		}
		_ = t.write(w)
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\naudio report (highest concurrency whose valid level kept p95 end-to-end latency within %gs; — none did):\n", rows[0].P95TargetSeconds)
	t := newTable("CORES\tMAX CONCURRENCY\tE2E P95 S\tRTF P50\tRTF P95\tBEST AUDIO H/H\tFILES/H\tWER\tCER\t")
	for i, r := range rows {
		if i == 0 || r.Model != rows[i-1].Model || r.Workload != rows[i-1].Workload {
			t.group("model " + r.Model + ", workload " + r.Workload)
		}
		conc := "—"
		if r.MaxConcurrency != nil {
			conc = strconv.Itoa(*r.MaxConcurrency)
		}
		t.row("%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", r.Cores, conc, num(r.E2EP95Seconds, 2),
			num(r.RTFP50, 3), num(r.RTFP95, 3), num(r.AudioHoursPerHour, 1), num(r.FilesPerHour, 0), pct(r.WER), pct(r.CER))
	}
	_ = t.write(w)
}

// num formats a nullable figure with prec decimals, — when absent.
func num(v *float64, prec int) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v, 'f', prec, 64)
}

// pct formats a nullable ratio as a percentage, — when absent.
func pct(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}
