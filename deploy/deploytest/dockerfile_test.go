package deploytest

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// finalStage returns the instructions of a Dockerfile's last stage that
// shape the running image (USER, WORKDIR, ENTRYPOINT, CMD), one per line.
func finalStage(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		word, _, _ := strings.Cut(l, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			out = nil
		case "USER", "WORKDIR", "ENTRYPOINT", "CMD":
			out = append(out, l)
		}
	}
	return out
}

// TestDockerfilesAgree: the multi-stage Dockerfile cannot be built here (it
// pulls golang), so check that it yields the image the scratch variant —
// which the end-to-end tests build and run — yields.
func TestDockerfilesAgree(t *testing.T) {
	r := root(t)
	multi := filepath.Join(r, "deploy/docker/Dockerfile")
	scratch := filepath.Join(r, "deploy/docker/Dockerfile.scratch")

	mf, err := DockerfileFiles(multi)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := DockerfileFiles(scratch)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(mf)
	slices.Sort(sf)
	if !slices.Equal(mf, sf) {
		t.Errorf("final images differ in files:\n  Dockerfile         %v\n  Dockerfile.scratch %v", mf, sf)
	}
	if m, s := finalStage(t, multi), finalStage(t, scratch); !slices.Equal(m, s) {
		t.Errorf("final stages differ:\n  Dockerfile         %q\n  Dockerfile.scratch %q", m, s)
	}

	b, err := os.ReadFile(multi)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"FROM scratch", "CGO_ENABLED=0", "-trimpath"} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// The builder's Go is the one go.mod asks for, pinned by tag.
	gomod, err := os.ReadFile(filepath.Join(r, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(gomod)
	if goVersion == nil || !strings.Contains(text, "golang:"+string(goVersion[1])+"-") {
		t.Errorf("Dockerfile's golang image does not match go.mod's go %s", goVersion[1])
	}

	// Every binary the image holds is built by both recipes from a command
	// that exists.
	script, err := os.ReadFile(filepath.Join(r, "deploy/docker/scratch-context.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sf {
		dir, name := filepath.Split(f)
		if dir != "/usr/local/bin/" {
			continue
		}
		if _, err := os.Stat(filepath.Join(r, "cmd", name, "main.go")); err != nil {
			t.Errorf("image binary %s: no cmd/%s", f, name)
		}
		for what, src := range map[string]string{"Dockerfile": text, "scratch-context.sh": string(script)} {
			if !strings.Contains(src, "./cmd/"+name) {
				t.Errorf("%s does not build ./cmd/%s", what, name)
			}
		}
	}
}

func TestDockerfileFiles(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM golang AS b\nCOPY x /x\nFROM scratch\nWORKDIR /app\nCOPY --from=b /a /b /usr/bin/\nCOPY --chown=1:1 c d\nADD e /e2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := DockerfileFiles(df)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/usr/bin/a", "/usr/bin/b", "/app/d", "/e2"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestImagesMultiArch: every image recipe builds linux/amd64 and
// linux/arm64 — the multi-stage builder cross-compiles for the target
// platform, the offline recipes copy the target's binaries from a context
// holding one linux_ARCH/ per architecture — and make test cross-builds the
// whole tree for arm64.
func TestImagesMultiArch(t *testing.T) {
	r := root(t)
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(r, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for file, wants := range map[string][]string{
		"deploy/docker/Dockerfile":         {"FROM --platform=$BUILDPLATFORM", "ARG TARGETARCH", "GOARCH=${TARGETARCH}"},
		"deploy/docker/Dockerfile.scratch": {"ARG TARGETARCH", "COPY linux_${TARGETARCH}/runner linux_${TARGETARCH}/exporter /usr/local/bin/"},
		"deploy/vllm-sim/Dockerfile":       {"ARG TARGETARCH", "COPY linux_${TARGETARCH}/vllm-sim /vllm-sim"},
		"Makefile":                         {"ARCHS     ?= amd64 arm64", "docker buildx build --platform $(PLATFORMS)", "GOARCH=arm64 $(GO) build ./..."},
	} {
		text := read(file)
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q", file, w)
			}
		}
	}
}
