package webserver

import (
	"bufio"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/servebench/servebench/exporter/exposition"
)

// textHandler serves /metrics in the Prometheus text format (what a scraper
// gets unless it asks for protobuf) with package exposition, and hands every
// other format to promhttp (next). It behaves as promhttp.HandlerFor with
// ContinueOnError: a gather error is logged and the families gathered are
// served; past maxInFlight concurrent scrapes it answers 503.
type textHandler struct {
	g    prometheus.Gatherer
	next http.Handler
	log  *slog.Logger
	sem  chan struct{}
}

func (h *textHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	format := expfmt.Negotiate(r.Header)
	if format.FormatType() != expfmt.TypeTextPlain {
		h.next.ServeHTTP(w, r)
		return
	}
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	default:
		http.Error(w, "Limit of concurrent requests reached ("+strconv.Itoa(cap(h.sem))+"), try again later.", http.StatusServiceUnavailable)
		return
	}
	mfs, err := h.g.Gather()
	if err != nil {
		h.log.Error("error gathering metrics", "err", err)
		if len(mfs) == 0 {
			http.Error(w, "An error has occurred while gathering metrics:\n\n"+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", string(format))
	out := bufPool.Get().(*bufio.Writer)
	out.Reset(w)
	defer func() {
		out.Flush()
		bufPool.Put(out)
	}()
	esc := format.ToEscapingScheme()
	for _, mf := range mfs {
		if err := exposition.WriteFamily(out, mf, esc); err != nil {
			h.log.Error("error encoding metric family", "family", mf.GetName(), "err", err)
		}
	}
}
