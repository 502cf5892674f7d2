// Package netstamptest has connections for testing code that dates data by
// the kernel's receive timestamps: they play a reader that is busy
// elsewhere.
package netstamptest

import (
	"context"
	"net"
	"time"

	"github.com/servebench/servebench/internal/netstamp"
)

// LateDialer returns a DialContext whose connections hand over what they
// read delay late. With stamped they pass on the kernel's receive timestamps
// (they are netstamp.Stampers), so the data can still be dated by its
// arrival; without, they are plain connections and only the read time is
// known.
func LateDialer(delay time.Duration, stamped bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	dial := netstamp.DialContext(&net.Dialer{})
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if !stamped {
			return &lateConn{c, delay}, nil
		}
		return &stampedLateConn{lateConn{c, delay}}, nil
	}
}

type lateConn struct {
	net.Conn
	delay time.Duration
}

func (c *lateConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	time.Sleep(c.delay)
	return n, err
}

type stampedLateConn struct{ lateConn }

func (c *stampedLateConn) LastRx() int64 {
	if st := netstamp.Of(c.Conn); st != nil {
		return st.LastRx()
	}
	return 0
}
