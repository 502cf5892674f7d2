// Package webserver serves servebench's metrics the way Prometheus exporters
// do: /metrics from a Gatherer, /-/healthy, a small landing page, and TLS and
// basic auth from an exporter-toolkit web configuration file. The runner, the
// metering proxy and the standalone exporter all serve through it.
package webserver

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
)

// DefaultListenAddress is where servebench serves metrics unless told
// otherwise: loopback only, so nothing is exposed to the network by default.
const DefaultListenAddress = "127.0.0.1:9465"

// Handler returns the HTTP handler: /metrics from g, /-/healthy, and / with
// links. A gather error from one collector still serves the rest.
func Handler(g prometheus.Gatherer, log *slog.Logger, name string) http.Handler {
	mux := http.NewServeMux()
	const maxInFlight = 16 // collectors bound their own time; no handler timeout buffering the body
	mux.Handle("/metrics", fastGzip(&textHandler{g: g, log: log, sem: make(chan struct{}, maxInFlight),
		next: promhttp.HandlerFor(g, promhttp.HandlerOpts{
			ErrorLog:            slog.NewLogLogger(log.Handler(), slog.LevelError),
			ErrorHandling:       promhttp.ContinueOnError,
			MaxRequestsInFlight: maxInFlight,
			DisableCompression:  true,
		})}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><head><title>%[1]s</title></head><body><h1>%[1]s</h1>"+
			`<p><a href="metrics">Metrics</a></p><p><a href="-/healthy">Health</a></p></body></html>`+"\n", name)
	})
	return mux
}

// Validate checks a web configuration file ("" is valid: plain HTTP).
func Validate(webConfigFile string) error {
	if webConfigFile == "" {
		return nil
	}
	if err := web.Validate(webConfigFile); err != nil {
		return fmt.Errorf("web config %s: %w", webConfigFile, err)
	}
	return nil
}

// Listen opens the TCP listener for addr.
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l, nil
}

// Serve serves h on l, with TLS and auth from webConfigFile, until ctx is
// done; it then shuts down gracefully (5 s) and returns nil.
func Serve(ctx context.Context, l net.Listener, h http.Handler, webConfigFile string, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	flags := &web.FlagConfig{WebListenAddresses: &[]string{l.Addr().String()}, WebSystemdSocket: new(bool), WebConfigFile: &webConfigFile}
	errc := make(chan error, 1)
	go func() { errc <- web.Serve(l, srv, flags, log) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down %s: %w", l.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", l.Addr(), err)
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// bufferedWriter sends a response's body through a buffer.
type bufferedWriter struct {
	http.ResponseWriter
	w *bufio.Writer
}

func (b bufferedWriter) Write(p []byte) (int, error) { return b.w.Write(p) }

var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// fastGzip compresses for clients that accept gzip, at BestSpeed: a scrape of
// tens of thousands of series spends a third of its time in deflate at the
// default level, for little gain in size on repetitive exposition text.
func fastGzip(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The encoder writes a metric family at a time through a 4 KiB
		// buffer; a bigger one saves hundreds of write calls on a large
		// scrape.
		bw := bufPool.Get().(*bufio.Writer)
		defer bufPool.Put(bw)
		bw.Reset(w)
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.ServeHTTP(bufferedWriter{ResponseWriter: w, w: bw}, r)
			bw.Flush()
			return
		}
		zw := gzipPool.Get().(*gzip.Writer)
		zw.Reset(bw)
		defer func() {
			zw.Close()
			bw.Flush()
			gzipPool.Put(zw)
		}()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		h.ServeHTTP(gzipWriter{ResponseWriter: w, w: zw}, r)
	})
}

func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

type gzipWriter struct {
	http.ResponseWriter
	w *gzip.Writer
}

func (g gzipWriter) Write(p []byte) (int, error) { return g.w.Write(p) }

// WriteHeader drops a Content-Length set for the uncompressed body.
func (g gzipWriter) WriteHeader(code int) {
	g.Header().Del("Content-Length")
	g.ResponseWriter.WriteHeader(code)
}
