package e2e

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// MountTmpfs mounts a tmpfs of size bytes at dir (created if missing) and
// unmounts it when the test ends: a small disk that fills up, or, with
// readOnly, one that takes no write at all. It needs root; without it the
// test is skipped (failed under CI).
func MountTmpfs(t testing.TB, dir string, size int64, readOnly bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var flags uintptr
	if readOnly {
		flags = unix.MS_RDONLY
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", flags, fmt.Sprintf("size=%d", size)); err != nil {
		missing(t, fmt.Sprintf("mount a %d-byte tmpfs at %s (needs root): %v", size, dir, err))
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}
