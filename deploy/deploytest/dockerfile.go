package deploytest

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strings"
)

// DockerfileFiles returns the absolute paths a single-stage Dockerfile's COPY
// and ADD instructions create in the final image (a destination ending in /
// receives each source by its base name). Only the final stage counts.
func DockerfileFiles(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	workdir := "/"
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			out, workdir = nil, "/"
		case "WORKDIR":
			if len(fields) > 1 {
				workdir = path.Join(workdir, fields[1])
			}
		case "COPY", "ADD":
			var args []string
			for _, a := range fields[1:] {
				if !strings.HasPrefix(a, "--") {
					args = append(args, a)
				}
			}
			if len(args) < 2 {
				return nil, fmt.Errorf("%s:%d: %s needs a source and a destination", file, n, fields[0])
			}
			dst := args[len(args)-1]
			if !path.IsAbs(dst) {
				dst = path.Join(workdir, dst)
			}
			srcs := args[:len(args)-1]
			if strings.HasSuffix(args[len(args)-1], "/") || len(srcs) > 1 {
				for _, s := range srcs {
					out = append(out, path.Join(dst, path.Base(s)))
				}
			} else {
				out = append(out, path.Clean(dst))
			}
		}
	}
	return out, sc.Err()
}
