package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// DockerClientOptions turns the Docker environment variables into client
// options, reading them through getenv (cmd passes os.Getenv): DOCKER_HOST
// (unix://, tcp://, and ssh://[user@]host[:port], which runs `ssh host
// docker system dial-stdio` like the docker CLI does), DOCKER_CERT_PATH for
// TLS, DOCKER_API_VERSION. Unset variables leave the client's defaults.
func DockerClientOptions(getenv func(string) string) ([]client.Opt, error) {
	var opts []client.Opt
	if p := getenv("DOCKER_CERT_PATH"); p != "" {
		opts = append(opts, client.WithTLSClientConfig(filepath.Join(p, "ca.pem"), filepath.Join(p, "cert.pem"), filepath.Join(p, "key.pem")))
	}
	host := getenv("DOCKER_HOST")
	switch {
	case strings.HasPrefix(host, "ssh://"):
		argv, err := SSHDialArgs(host)
		if err != nil {
			return nil, err
		}
		// The host part is a placeholder: every connection is the ssh pipe.
		opts = append(opts, client.WithHost("http://docker.example.com"), client.WithDialContext(
			func(context.Context, string, string) (net.Conn, error) { return dialCommand(argv) }))
	case host != "":
		opts = append(opts, client.WithHost(host))
	}
	if v := getenv("DOCKER_API_VERSION"); v != "" {
		opts = append(opts, client.WithVersion(v))
	}
	return opts, nil
}

// SSHDialArgs is the ssh command line that reaches the Docker daemon of an
// ssh:// DOCKER_HOST.
func SSHDialArgs(dockerHost string) ([]string, error) {
	u, err := url.Parse(dockerHost)
	if err != nil {
		return nil, fmt.Errorf("DOCKER_HOST %q: %w", dockerHost, err)
	}
	if u.Scheme != "ssh" || u.Hostname() == "" {
		return nil, fmt.Errorf("DOCKER_HOST %q: want ssh://[user@]host[:port]", dockerHost)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("DOCKER_HOST %q: a path is not supported", dockerHost)
	}
	argv := []string{"ssh", "-o", "ConnectTimeout=30", "-T"}
	if u.User != nil && u.User.Username() != "" {
		argv = append(argv, "-l", u.User.Username())
	}
	if p := u.Port(); p != "" {
		argv = append(argv, "-p", p)
	}
	return append(argv, "--", u.Hostname(), "docker", "system", "dial-stdio"), nil
}

// dialCommand starts argv and uses its stdin and stdout as a connection. The
// process is not tied to the dial's context: it lives as long as the
// connection.
func dialCommand(argv []string) (net.Conn, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &commandConn{cmd: cmd, in: in, out: out}
	cmd.Stderr = &c.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("docker over ssh: %w", err)
	}
	return c, nil
}

// commandConn is a net.Conn over a child process's stdio.
type commandConn struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    io.ReadCloser
	stderr limitedBuffer
	once   sync.Once
}

func (c *commandConn) Read(p []byte) (int, error) {
	n, err := c.out.Read(p)
	if errors.Is(err, io.EOF) && c.stderr.String() != "" {
		return n, fmt.Errorf("docker over ssh: %s: %w", strings.TrimSpace(c.stderr.String()), err)
	}
	return n, err
}

func (c *commandConn) Write(p []byte) (int, error) { return c.in.Write(p) }

// CloseWrite half-closes, as net/http expects of a connection it has
// finished writing a request to.
func (c *commandConn) CloseWrite() error { return c.in.Close() }

func (c *commandConn) Close() error {
	c.once.Do(func() {
		c.in.Close()
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	})
	return nil
}

func (c *commandConn) LocalAddr() net.Addr              { return pipeAddr{} }
func (c *commandConn) RemoteAddr() net.Addr             { return pipeAddr{} }
func (c *commandConn) SetDeadline(time.Time) error      { return nil }
func (c *commandConn) SetReadDeadline(time.Time) error  { return nil }
func (c *commandConn) SetWriteDeadline(time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "ssh" }

// limitedBuffer keeps the first 4 KiB written to it (ssh's error message).
type limitedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// NewDockerClientFromEnv is a Docker Engine API client configured the way
// the docker CLI is, from DOCKER_HOST, DOCKER_CERT_PATH and
// DOCKER_API_VERSION read through getenv.
func NewDockerClientFromEnv(getenv func(string) string) (*client.Client, error) {
	opts, err := DockerClientOptions(getenv)
	if err != nil {
		return nil, err
	}
	return NewDockerClient(opts...)
}

// RemoteDocker reports whether DOCKER_HOST names a daemon on another
// machine (not a unix socket or a Windows pipe): this machine's topology
// then says nothing about the engine's.
func RemoteDocker(dockerHost string) bool {
	return dockerHost != "" && !strings.HasPrefix(dockerHost, "unix://") && !strings.HasPrefix(dockerHost, "npipe://")
}

// PublicHost is the host part of a remote DOCKER_HOST, where its engines
// are reachable; "" for a local daemon.
func PublicHost(dockerHost string) string {
	if !RemoteDocker(dockerHost) {
		return ""
	}
	h := dockerHost
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.LastIndex(h, "@"); i >= 0 {
		h = h[i+1:]
	}
	if i := strings.IndexAny(h, ":/"); i >= 0 {
		h = h[:i]
	}
	return h
}
