package netstamp

import (
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Conn is a TCP connection whose reads use recvmsg to collect the kernel's
// receive timestamp. Reads are not concurrent (net/http reads a connection
// from one goroutine at a time); LastRx may be called from any goroutine.
type Conn struct {
	*net.TCPConn
	rc     syscall.RawConn
	oob    [64]byte
	lastRx atomic.Int64

	// One read's arguments and results, for the callback made once.
	p      []byte
	n      int
	oobn   int
	err    error
	readFn func(fd uintptr) bool
}

// Wrap turns c into a *Conn when it is TCP and the kernel accepts
// SO_TIMESTAMPNS; otherwise it returns c unchanged.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return c
	}
	sc := &Conn{TCPConn: tc, rc: rc}
	sc.readFn = sc.recv
	return sc
}

func (c *Conn) recv(fd uintptr) bool {
	c.n, c.oobn, _, _, c.err = syscall.Recvmsg(int(fd), c.p, c.oob[:], 0)
	return c.err != syscall.EAGAIN
}

// Read reads like a TCP connection and records the receive time of what it
// returned.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.p = p
	if err := c.rc.Read(c.readFn); err != nil {
		c.p = nil
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	c.p = nil
	if c.err != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: c.err}
	}
	if c.n == 0 {
		return 0, io.EOF
	}
	c.lastRx.Store(parseStamp(c.oob[:c.oobn])) // 0 when this read has none
	return c.n, nil
}

// LastRx returns the receive time of the newest data the last Read returned.
func (c *Conn) LastRx() int64 { return c.lastRx.Load() }

// parseStamp finds SCM_TIMESTAMPNS in a control message buffer, without
// allocating.
func parseStamp(b []byte) int64 {
	const hdr = int(unsafe.Sizeof(syscall.Cmsghdr{}))
	for len(b) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
		l := int(h.Len)
		if l < hdr || l > len(b) {
			return 0
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && l >= hdr+16 {
			sec := int64(binary.NativeEndian.Uint64(b[hdr:]))
			nsec := int64(binary.NativeEndian.Uint64(b[hdr+8:]))
			return sec*1e9 + nsec
		}
		b = b[min(cmsgAlign(l), len(b)):]
	}
	return 0
}

func cmsgAlign(n int) int {
	const a = int(unsafe.Sizeof(uintptr(0)))
	return (n + a - 1) &^ (a - 1)
}

// WriteTo copies through Read, so the stamps are kept (the embedded
// connection's WriteTo would read around them).
func (c *Conn) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, struct{ io.Reader }{c})
}
