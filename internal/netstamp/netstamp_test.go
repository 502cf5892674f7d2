package netstamp

import (
	"context"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// A client that reads late still learns when the bytes arrived.
func TestLateReadKeepsArrivalTime(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	written := make(chan time.Time, 3)
	more := make(chan struct{})
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Read(make([]byte, 1)) // as a server answers a request
		for i := range 3 {
			if i == 1 {
				<-more
			}
			if i == 2 {
				time.Sleep(20 * time.Millisecond)
			}
			c.Write([]byte("chunk\n"))
			written <- time.Now()
		}
	}()
	c, err := DialContext(&net.Dialer{})(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("?"))
	st := Of(c)
	if st == nil {
		if runtime.GOOS == "linux" {
			t.Fatal("no receive timestamps on Linux")
		}
		t.Skip("receive timestamps are read on Linux only")
	}
	w := <-written
	time.Sleep(50 * time.Millisecond) // the reader is busy elsewhere
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil || n != 6 {
		t.Fatalf("read %d %v", n, err)
	}
	now := time.Now()
	at := arrival(st.LastRx(), now, time.Time{})
	if d := w.Sub(at); d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("stamped %v, written %v (off by %v); read at %v", at, w, d, now)
	}
	if now.Sub(at) < 45*time.Millisecond {
		t.Fatalf("the stamp %v is the read time %v", at, now)
	}
	// Both later chunks arrive before the next read: one read returns both,
	// stamped with the newer.
	close(more)
	<-written
	w3 := <-written
	time.Sleep(5 * time.Millisecond)
	n, err = c.Read(buf)
	if err != nil || n != 12 {
		t.Fatalf("read %d %v", n, err)
	}
	at = arrival(st.LastRx(), time.Now(), time.Time{})
	if d := w3.Sub(at); d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("stamped %v, last written %v", at, w3)
	}
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("after close: %v, want EOF", err)
	}
}

func TestDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			time.Sleep(time.Second)
			c.Close()
		}
	}()
	c, err := DialContext(&net.Dialer{})(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err = c.Read(make([]byte, 8))
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
}

func TestAt(t *testing.T) {
	now := time.Now()
	floor := now.Add(-time.Second)
	for _, c := range []struct {
		name string
		rx   int64
		want time.Time
	}{
		{"none", 0, now},
		{"3ms ago", now.UnixNano() - 3e6, now.Add(-3 * time.Millisecond)},
		{"future", now.UnixNano() + 1e6, now},
		{"too old", now.UnixNano() - int64(time.Minute), now},
		{"before the floor", now.UnixNano() - int64(2*time.Second), floor},
	} {
		if got := arrival(c.rx, now, floor); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	for _, stamped := range []bool{false, true} {
		name := "plain"
		if stamped {
			name = "stamped"
		}
		b.Run(name, func(b *testing.B) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			go func() {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				msg := make([]byte, 128)
				ack := make([]byte, 1)
				for {
					if _, err := c.Write(msg); err != nil {
						return
					}
					if _, err := c.Read(ack); err != nil {
						return
					}
				}
			}()
			d := &net.Dialer{}
			c, err := d.Dial("tcp", l.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			if stamped {
				c = Wrap(c)
			}
			defer c.Close()
			buf := make([]byte, 4096)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := io.ReadFull(c, buf[:128]); err != nil {
					b.Fatal(err)
				}
				c.Write(buf[:1])
			}
		})
	}
}

// A Dater dates by the stamps of the connection the request went out on,
// never before its floor nor an earlier date; without a stamped connection
// it gives the moment of the read.
func TestDater(t *testing.T) {
	now := time.Now()
	var plain Dater
	if plain.Stamped() || !plain.Date(now).Equal(now) {
		t.Fatal("a Dater without a connection must give the read time")
	}
	st := &fixedStamp{}
	d := Dater{conn: st}
	d.Since(now.Add(-5 * time.Millisecond))
	st.rx = now.UnixNano() - int64(3*time.Millisecond)
	if got := d.Date(now); !got.Equal(now.Add(-3 * time.Millisecond)) {
		t.Fatalf("dated %v, want 3 ms before the read", now.Sub(got))
	}
	st.rx = now.UnixNano() - int64(4*time.Millisecond) // older than the last date
	if got := d.Date(now); !got.Equal(now.Add(-3 * time.Millisecond)) {
		t.Fatalf("dated %v before the read, want no earlier than the last date", now.Sub(got))
	}
	st.rx = now.UnixNano() - int64(time.Second) // before the floor
	d.Since(now.Add(-time.Millisecond))
	if got := d.Date(now); !got.Equal(now.Add(-time.Millisecond)) {
		t.Fatalf("dated %v before the read, want the floor", now.Sub(got))
	}
}

type fixedStamp struct{ rx int64 }

func (f *fixedStamp) LastRx() int64 { return f.rx }
