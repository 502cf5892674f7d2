// Package runlog is the runner's log: structured slog records kept apart
// from the progress and results a person reads. Records go to the terminal
// (stderr) from one level up, and, once a run directory exists, to a log
// file in it from another level; records logged before the file is
// attached are held (at most Buffered of them) and written first, so the
// file has the whole run.
//
// A Log is safe for concurrent use; loggers derived with With and
// WithGroup share its file.
package runlog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Buffered is how many records are held until the file is attached; older
// ones are dropped (and the drop is logged).
const Buffered = 10000

// Format is a log format: logfmt or json.
type Format string

// Formats.
const (
	Logfmt Format = "logfmt"
	JSON   Format = "json"
)

// ParseLevel reads debug, info, warn or error.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// ParseFormat reads logfmt or json.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case Logfmt, JSON:
		return f, nil
	}
	return "", fmt.Errorf("log format %q: want logfmt or json", s)
}

func newHandler(w io.Writer, f Format, level slog.Leveler) slog.Handler {
	o := &slog.HandlerOptions{Level: level}
	if f == JSON {
		return slog.NewJSONHandler(w, o)
	}
	return slog.NewTextHandler(w, o)
}

// Log holds the terminal and file destinations.
type Log struct {
	term      slog.Handler
	fileLevel slog.Level
	format    Format
	hold      bool // hold records for a file not yet attached

	mu      sync.Mutex
	file    slog.Handler
	f       *os.File
	held    []heldRecord
	dropped int
}

type heldRecord struct {
	r   slog.Record
	ops []op
}

// op is a With or WithGroup applied to a derived logger.
type op struct {
	attrs []slog.Attr
	group string
}

func (o op) apply(h slog.Handler) slog.Handler {
	if o.group != "" {
		return h.WithGroup(o.group)
	}
	return h.WithAttrs(o.attrs)
}

// New returns a log writing to term from termLevel up. With fileLevel set
// (hold), records from it up are held until Attach names the file.
func New(term io.Writer, f Format, termLevel slog.Level, fileLevel *slog.Level) *Log {
	l := &Log{term: newHandler(term, f, termLevel), format: f}
	if fileLevel != nil {
		l.fileLevel, l.hold = *fileLevel, true
	}
	return l
}

// Logger returns a logger on the log.
func (l *Log) Logger() *slog.Logger { return slog.New(&handler{l: l, term: l.term}) }

// Attach opens path (creating its directory) and writes the held records to
// it, then every record from the file level up. Without a file level it does
// nothing.
func (l *Log) Attach(path string) error {
	if !l.hold {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	h := newHandler(f, l.format, l.fileLevel)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.file = f, h
	if l.dropped > 0 {
		r := slog.NewRecord(l.held[0].r.Time, slog.LevelWarn, "log records dropped before the log file was opened", 0)
		r.AddAttrs(slog.Int("dropped", l.dropped))
		_ = h.Handle(context.Background(), r)
	}
	for _, hr := range l.held {
		_ = derive(h, hr.ops).Handle(context.Background(), hr.r)
	}
	l.held, l.dropped = nil, 0
	return nil
}

// Close closes the file; later records go to the terminal only.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hold, l.file = false, nil
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

func derive(h slog.Handler, ops []op) slog.Handler {
	for _, o := range ops {
		h = o.apply(h)
	}
	return h
}

// handler is one derived logger's view of the Log.
type handler struct {
	l    *Log
	ops  []op
	term slog.Handler // the terminal handler with ops applied
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	if h.l.term.Enabled(ctx, level) {
		return true
	}
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	return (h.l.hold || h.l.file != nil) && level >= h.l.fileLevel
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.l.term.Enabled(ctx, r.Level) {
		err = h.term.Handle(ctx, r)
	}
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	switch {
	case r.Level < h.l.fileLevel:
	case h.l.file != nil:
		err = derive(h.l.file, h.ops).Handle(ctx, r)
	case h.l.hold:
		if len(h.l.held) == Buffered {
			h.l.held, h.l.dropped = h.l.held[1:], h.l.dropped+1
		}
		h.l.held = append(h.l.held, heldRecord{r: r.Clone(), ops: h.ops})
	}
	return err
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &handler{l: h.l, ops: append(slices.Clip(h.ops), op{attrs: attrs}), term: h.term.WithAttrs(attrs)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &handler{l: h.l, ops: append(slices.Clip(h.ops), op{group: name}), term: h.term.WithGroup(name)}
}

// FromFlags builds the log of --log-level and --log-format: on the terminal
// from level (default warn). With toFile (a command that writes a run
// directory), records from level (default info) are held for Attach and
// the terminal shows only warnings and errors among the progress lines.
// An error names the flag.
func FromFlags(term io.Writer, level, format string, toFile bool) (*Log, error) {
	f, err := ParseFormat(format)
	if err != nil {
		return nil, fmt.Errorf("--log-format: %w", err)
	}
	termLevel := slog.LevelWarn
	if level != "" {
		if termLevel, err = ParseLevel(level); err != nil {
			return nil, fmt.Errorf("--log-level: %w", err)
		}
	}
	if !toFile {
		return New(term, f, termLevel, nil), nil
	}
	fileLevel := slog.LevelInfo
	if level != "" {
		fileLevel = termLevel
	}
	return New(term, f, max(termLevel, slog.LevelWarn), &fileLevel), nil
}
