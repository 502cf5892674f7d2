// Package atomicfile writes files so that a reader, or a crash, never sees a
// partial one: the content goes to a temporary file in the same directory,
// is synced, and replaces the destination by rename only when complete. An
// existing file at the destination stays byte for byte as it was until
// Commit succeeds; Abort (or any failed step) leaves it untouched and
// removes the temporary file.
//
// A destination that is not a regular file — /dev/null, /dev/stdout, a named
// pipe — cannot be replaced and is written in place (a rename over it would
// turn a device into a file); a symbolic link is followed, so the file it
// names is replaced and the link stays.
//
// A File is used by one goroutine at a time.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a destination being written.
type File struct {
	path   string
	perm   fs.FileMode
	tmp    *os.File
	direct bool  // tmp is the destination itself, not a regular file
	err    error // first write error; Commit refuses to publish after it
	done   bool
}

// Create starts writing path. It fails at once when the destination's
// directory cannot take a new file (missing, read-only, full inode table),
// so a bad path costs nothing of a run; the destination itself is not
// touched.
func Create(path string, perm fs.FileMode) (*File, error) {
	target := path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		target = real
	}
	if fi, err := os.Stat(target); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		out, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", path, unwrapPath(err))
		}
		return &File{path: path, perm: perm, tmp: out, direct: true}, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, unwrapPath(err))
	}
	return &File{path: path, perm: perm, tmp: tmp}, nil
}

// target is where Commit renames the content: the destination, or the file
// its symbolic link names.
func (f *File) target() string {
	if real, err := filepath.EvalSymlinks(f.path); err == nil {
		return real
	}
	return f.path
}

// Name is the destination path.
func (f *File) Name() string { return f.path }

// Write appends to the temporary file. After the first error every call
// returns it, and Commit will not publish.
func (f *File) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.done {
		return 0, fmt.Errorf("write %s: %w", f.path, os.ErrClosed)
	}
	n, err := f.tmp.Write(p)
	if err != nil {
		f.err = fmt.Errorf("write %s: %w", f.path, unwrapPath(err))
	}
	return n, f.err
}

// Err is the first write error, nil if none.
func (f *File) Err() error { return f.err }

// Commit syncs the content and renames it over the destination. On any
// error the destination is left as it was and the temporary file removed.
// Commit and Abort may be called more than once; only the first counts.
func (f *File) Commit() error {
	if f.done {
		return f.err
	}
	f.done = true
	if f.direct {
		if e := f.tmp.Close(); e != nil && f.err == nil {
			f.err = fmt.Errorf("write %s: %w", f.path, unwrapPath(e))
		}
		return f.err
	}
	err := f.err
	if err == nil {
		if e := f.tmp.Chmod(f.perm); e != nil {
			err = fmt.Errorf("write %s: %w", f.path, unwrapPath(e))
		}
	}
	if err == nil {
		if e := f.tmp.Sync(); e != nil {
			err = fmt.Errorf("write %s: %w", f.path, unwrapPath(e))
		}
	}
	if e := f.tmp.Close(); e != nil && err == nil {
		err = fmt.Errorf("write %s: %w", f.path, unwrapPath(e))
	}
	target := f.target()
	if err == nil {
		if e := os.Rename(f.tmp.Name(), target); e != nil {
			err = fmt.Errorf("write %s: %w", f.path, e)
		}
	}
	if err != nil {
		os.Remove(f.tmp.Name())
		f.err = err
		return err
	}
	syncDir(filepath.Dir(target))
	return nil
}

// Abort discards what was written; the destination is left as it was.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.tmp.Close()
	if !f.direct {
		os.Remove(f.tmp.Name())
	}
}

// WriteFile replaces path with data atomically.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// syncDir makes the rename durable; a directory that cannot be synced
// (some filesystems refuse) changes nothing about the file's content.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}

// unwrapPath drops the temporary file's name from an error: the user knows
// the destination, not the temporary name.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
