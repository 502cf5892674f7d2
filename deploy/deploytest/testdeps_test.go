package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeMachine runs deploy/scripts/test-deps.sh on a PATH of fakes: an
// apt-get that fails with apt's lock message while the lock file exists and
// logs what it was asked otherwise, a docker that answers once the fake
// daemon is up, and a dockerd that fails its first start (its
// prerequisites mid-install) when asked to. None of the tools the script
// looks for is on that PATH, so it installs them all.
type fakeMachine struct {
	dir, bin, lock, aptLog, dockerdLog string
}

func newFakeMachine(t *testing.T, dockerdFailsFirst bool) *fakeMachine {
	t.Helper()
	dir := t.TempDir()
	m := &fakeMachine{dir: dir, bin: filepath.Join(dir, "bin"), lock: filepath.Join(dir, "dpkg.lock"),
		aptLog: filepath.Join(dir, "apt.log"), dockerdLog: filepath.Join(dir, "dockerd-starts")}
	if err := os.Mkdir(m.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"bash", "sh", "env", "id", "grep", "sort", "tr", "seq", "sleep", "tail", "cat", "kill", "touch"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not found", tool)
		}
		if err := os.Symlink(p, filepath.Join(m.bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	up := filepath.Join(dir, "docker-up")
	first := "false"
	if dockerdFailsFirst {
		first = "true"
	}
	scripts := map[string]string{
		"apt-get": `if [ -e "` + m.lock + `" ]; then
  echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)" >&2
  echo "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?" >&2
  exit 100
fi
echo "$*" >>"` + m.aptLog + `"`,
		"docker": `[ "$1" = info ] && [ -e "` + up + `" ]`,
		// The first start fails at once when asked to; a later one brings
		// the fake daemon up and leaves no process behind.
		"dockerd": `echo start >>"` + m.dockerdLog + `"
if ` + first + ` && [ "$(cat "` + m.dockerdLog + `" | grep -c start)" = 1 ]; then echo "failed to start containerd: exec: containerd: not found"; exit 1; fi
touch "` + up + `"`,
		"nohup": `exec "$@"`,
		"sudo":  `exec "$@"`,
		"pgrep": `exit 1`,
		"dpkg":  `exit 0`,
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(m.bin, name), []byte("#!"+filepath.Join(m.bin, "sh")+"\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (m *fakeMachine) run(t *testing.T, lockWait string) (string, error, time.Duration) {
	t.Helper()
	root, err := RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(m.bin, "bash"), filepath.Join(root, "deploy/scripts/test-deps.sh"))
	cmd.Env = []string{"PATH=" + m.bin, "SERVEBENCH_APT_LOCK_WAIT=" + lockWait, "SERVEBENCH_DOCKERD_LOG=" + filepath.Join(m.dir, "dockerd.log")}
	begin := time.Now()
	out, err := cmd.CombinedOutput()
	return string(out), err, time.Since(begin)
}

// The dependency step waits for another process's apt/dpkg lock instead
// of failing at once, then installs.
func TestTestDepsWaitsForTheDpkgLock(t *testing.T) {
	m := newFakeMachine(t, false)
	if err := os.WriteFile(m.lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(3*time.Second, func() { os.Remove(m.lock) })
	out, err, took := m.run(t, "60")
	if err != nil {
		t.Fatalf("test-deps failed after %v: %v\n%s", took, err, out)
	}
	if took < 3*time.Second || !strings.Contains(out, "another process holds the apt/dpkg lock; waiting up to 60s") {
		t.Errorf("did not wait for the lock (%v):\n%s", took, out)
	}
	log, _ := os.ReadFile(m.aptLog)
	want := "install -y -qq --no-install-recommends apache2-utils chromium nodejs npm poppler-utils prometheus prometheus-alertmanager python3-locust victoria-metrics wrk" // dockerd is a fake here
	if !strings.Contains(string(log), "update -qq") || !strings.Contains(string(log), want) {
		t.Errorf("apt-get was asked:\n%s\nwant update, then %s", log, want)
	}
}

// A lock that is never released fails the step after the bounded wait,
// with a message naming the lock and the setting.
func TestTestDepsLockWaitIsBounded(t *testing.T) {
	m := newFakeMachine(t, false)
	if err := os.WriteFile(m.lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err, took := m.run(t, "3")
	if err == nil {
		t.Fatalf("test-deps succeeded with the lock held:\n%s", out)
	}
	if took > 20*time.Second || !strings.Contains(out, "still holds the apt/dpkg lock after 3s (SERVEBENCH_APT_LOCK_WAIT)") ||
		!strings.Contains(out, "Could not get lock /var/lib/dpkg/lock-frontend") {
		t.Errorf("after %v:\n%s", took, out)
	}
}

// A dockerd that fails to start (prerequisites mid-install) is started once
// more.
func TestTestDepsRetriesDockerdOnce(t *testing.T) {
	m := newFakeMachine(t, true)
	out, err, took := m.run(t, "10")
	if err != nil {
		t.Fatalf("test-deps failed after %v: %v\n%s", took, err, out)
	}
	starts, _ := os.ReadFile(m.dockerdLog)
	if n := strings.Count(string(starts), "start"); n != 2 || !strings.Contains(out, "dockerd did not start; waiting for package work on the machine to settle, then trying once more") {
		t.Errorf("dockerd started %d times:\n%s", n, out)
	}
}
