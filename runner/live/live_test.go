package live

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/recorder"
)

// A busy address names the flag and the ways out; :0 picks a free port
// and prints it; "off" serves nothing.
func TestListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = Listen(busy.Addr().String(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--web.listen-address "+busy.Addr().String()) || !strings.Contains(err.Error(), "127.0.0.1:0") {
		t.Errorf("busy address: %v", err)
	}
	var out bytes.Buffer
	l, err := Listen("127.0.0.1:0", &out)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if want := "live metrics: http://" + l.Addr().String() + "/metrics\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	if Listening("off") || Listening("") || !Listening("127.0.0.1:0") {
		t.Error("Listening: off and empty serve nothing")
	}
}

// ServeAt serves the registry until stop, which returns with the server
// down; "off" serves nothing and stop is a no-op.
func TestServeAt(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := New(recorder.Options{}, "", "", nil, log)
	if err != nil {
		t.Fatal(err)
	}
	stop, err := m.ServeAt(context.Background(), "off", "", "test", io.Discard, log)
	if err != nil {
		t.Fatal(err)
	}
	stop(time.Second)
	var out bytes.Buffer
	stop, err = m.ServeAt(context.Background(), "127.0.0.1:0", "", "test", &out, log)
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(strings.TrimPrefix(out.String(), "live metrics: "))
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "servebench_build_info") {
		t.Errorf("/metrics lacks the build info:\n%.500s", body)
	}
	stop(0)
	if _, err := http.Get(url); err == nil {
		t.Error("the endpoint is still up after stop")
	}
}
