//go:build !linux

package netstamp

import "net"

// Wrap returns c unchanged: receive timestamps are read on Linux only.
func Wrap(c net.Conn) net.Conn { return c }
