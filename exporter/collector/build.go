package collector

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/prometheus/procfs"
)

// Names lists the collectors Build knows, in documentation order.
var Names = []string{"cpu", "memory", "network", "process", "container"}

// Options configure the collectors Build assembles.
type Options struct {
	ProcFS, SysFS           string         // mount points; "" = /proc, /sys
	EngineCPUs, LoadgenCPUs string         // cpusets (Linux list syntax) giving CPUs their role
	NetworkExclude          *regexp.Regexp // interfaces to leave out; nil = none
	PID                     int            // process to report (the caller's own, normally)
	Goroutines              func() int     // runtime.NumGoroutine when PID is the caller; may be nil
	Docker                  DockerAPI      // required by the container collector
}

// Build returns the named collectors, sharing one procfs handle. Errors name
// the option at fault.
func Build(names []string, o Options) (map[string]Collector, error) {
	if o.ProcFS == "" {
		o.ProcFS = procfs.DefaultMountPoint
	}
	if o.SysFS == "" {
		o.SysFS = "/sys"
	}
	var (
		fs     procfs.FS
		fsErr  error
		fsOpen bool
	)
	proc := func() (procfs.FS, error) {
		if !fsOpen {
			fs, fsErr = procfs.NewFS(o.ProcFS)
			fsOpen = true
		}
		if fsErr != nil {
			return fs, fmt.Errorf("procfs %s: %w", o.ProcFS, fsErr)
		}
		return fs, nil
	}
	out := map[string]Collector{}
	for _, n := range names {
		var err error
		switch n {
		case "cpu":
			var roles Roles
			if roles, err = NewRoles(o.EngineCPUs, o.LoadgenCPUs); err == nil {
				if fs, err = proc(); err == nil {
					out[n] = NewCPU(fs, roles)
				}
			}
		case "memory":
			if fs, err = proc(); err == nil {
				out[n] = NewMemory(fs, o.SysFS)
			}
		case "network":
			if fs, err = proc(); err == nil {
				out[n] = NewNetwork(fs, o.NetworkExclude)
			}
		case "process":
			if o.PID <= 0 {
				err = errors.New("process collector: no pid")
			} else if fs, err = proc(); err == nil {
				out[n] = NewProcess(fs, o.PID, o.Goroutines)
			}
		case "container":
			if o.Docker == nil {
				err = errors.New("container collector: no Docker client")
			} else {
				out[n] = NewContainer(o.Docker)
			}
		default:
			err = fmt.Errorf("unknown collector %q (known: %v)", n, Names)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
