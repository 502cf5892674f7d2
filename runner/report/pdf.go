package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Browsers are the headless browsers PrintPDF can drive, looked up in this
// order: Debian's chromium first.
var Browsers = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// ErrNoBrowser is returned by FindBrowser when none of Browsers is found.
var ErrNoBrowser = errors.New("no headless browser")

// FindBrowser returns the first of Browsers that lookPath (exec.LookPath)
// finds, or an error naming every one it looked for.
func FindBrowser(lookPath func(string) (string, error)) (string, error) {
	for _, b := range Browsers {
		if p, err := lookPath(b); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: none of %s is on PATH (install Debian's chromium, or name one with --browser)", ErrNoBrowser, strings.Join(Browsers, ", "))
}

// PrintPDF prints the HTML page at htmlPath to pdfPath with a headless
// Chromium: a fresh profile in a temporary directory, no network services
// of its own (the page needs none), no header or footer. The PDF is written
// next to pdfPath and renamed into place, so a failure leaves no partial
// file. ctx bounds the browser's run.
func PrintPDF(ctx context.Context, browser, htmlPath, pdfPath string) error {
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		return err
	}
	profile, err := os.MkdirTemp("", "servebench-chromium-")
	if err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	defer os.RemoveAll(profile)
	tmp := pdfPath + ".tmp"
	defer os.Remove(tmp)
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run", "--user-data-dir="+profile,
		"--no-pdf-header-footer", "--print-to-pdf="+tmp, "file://"+abs)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pdf: %s: %w: %s", browser, err, lastChars(out.String(), 400))
	}
	b, err := os.ReadFile(tmp)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF")) {
		return fmt.Errorf("pdf: %s wrote no PDF to %s: %s", browser, tmp, lastChars(out.String(), 400))
	}
	if err := os.Rename(tmp, pdfPath); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	return nil
}

func lastChars(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
