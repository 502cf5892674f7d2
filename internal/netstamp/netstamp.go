// Package netstamp gives TCP connections the kernel's receive timestamps, so
// a client can time each chunk by when its bytes reached the host, not by
// when a busy Go scheduler got round to reading them.
//
// With SO_TIMESTAMPNS set on a socket, every recvmsg on it carries the
// receive time of the last segment it returned (Linux stamps a packet as the
// network stack takes it in; on loopback that is inside the sender's write).
// A Conn records that time for each Read; LastRx reports it. Where the
// option is missing (another OS, a kernel without it) a Conn reads as a plain
// connection and LastRx reports nothing, so callers fall back to the clock.
package netstamp

import (
	"context"
	"crypto/tls"
	"net"
	"net/http/httptrace"
	"time"
)

// Stamper is a connection that knows when the data of its last Read arrived.
type Stamper interface {
	// LastRx returns the kernel's receive time (Unix nanoseconds) of the
	// newest data the last Read returned, 0 when unknown.
	LastRx() int64
}

// DialContext dials with d and returns a Conn with receive timestamps on when
// the network is TCP and the kernel allows it.
func DialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return Wrap(c), nil
	}
}

// Of returns the Stamper under c (looking through TLS), or nil.
func Of(c net.Conn) Stamper {
	for c != nil {
		switch v := c.(type) {
		case Stamper:
			return v
		case *tls.Conn:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// maxAge bounds how far back a stamp may lie from the moment it is used; an
// older one (a clock step, a stale stamp) is not trusted.
const maxAge = 10 * time.Second

// arrival returns the time data stamped rx (Unix nanoseconds) arrived, given the
// moment now it was read: now moved back by the stamp's age, so the result
// keeps now's monotonic clock reading. Without a usable stamp it is now. The
// result is never before floor.
func arrival(rx int64, now, floor time.Time) time.Time {
	if rx == 0 {
		return now
	}
	age := time.Duration(now.UnixNano() - rx)
	if age <= 0 || age > maxAge {
		return now
	}
	t := now.Add(-age)
	if t.Before(floor) {
		return floor
	}
	return t
}

// Dater dates what the reads of one HTTP response return: by the receive
// timestamps of the connection the request went out on, when it has them,
// else by the moment of the read. The zero Dater dates by the moment of the
// read; Trace lets it learn the connection. A Dater serves one response,
// read from one goroutine.
type Dater struct {
	conn Stamper
	last time.Time
}

// Trace returns ctx with a client trace that tells d which connection the
// request goes out on.
func (d *Dater) Trace(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { d.conn = Of(i.Conn) }})
}

// Since makes t the earliest date d gives (the moment the request was sent).
func (d *Dater) Since(t time.Time) { d.last = t }

// Stamped reports whether the connection has receive timestamps (known once
// the request went out).
func (d *Dater) Stamped() bool { return d.conn != nil }

// Date returns when the data of the connection's last read arrived, given the
// moment now it was read: now without timestamps, else the stamp's time,
// never before the previous date.
func (d *Dater) Date(now time.Time) time.Time {
	if d.conn == nil {
		return now
	}
	d.last = arrival(d.conn.LastRx(), now, d.last)
	return d.last
}
