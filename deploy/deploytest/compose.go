package deploytest

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// ComposeProfiles are the profiles docker-compose.yml defines.
var ComposeProfiles = []string{"sim", "llm", "embedding", "single-node"}

// LoadCompose parses root/docker-compose.yml the way docker compose does,
// with the given profile active and env as the only environment (the
// process environment is not read, so results do not depend on the shell).
func LoadCompose(ctx context.Context, root, profile string, env map[string]string) (*types.Project, error) {
	return LoadComposeFiles(ctx, root, nil, profile, env)
}

// LoadComposeFiles is LoadCompose with override files (relative to root)
// applied after docker-compose.yml, as `docker compose -f ... -f ...` does.
func LoadComposeFiles(ctx context.Context, root string, overrides []string, profile string, env map[string]string) (*types.Project, error) {
	files := []string{filepath.Join(root, "docker-compose.yml")}
	for _, o := range overrides {
		files = append(files, filepath.Join(root, o))
	}
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	opts, err := cli.NewProjectOptions(
		files,
		cli.WithWorkingDirectory(root),
		cli.WithEnv(list),
		cli.WithProfiles([]string{profile}),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, fmt.Errorf("compose options: %w", err)
	}
	p, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("compose profile %s: %w", profile, err)
	}
	return p, nil
}

// HostPath maps a path seen inside a service's container to the host path
// of the bind mount that provides it, or "" when no bind mount covers it.
func HostPath(s types.ServiceConfig, containerPath string) string {
	best, bestLen := "", -1
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		rel, err := filepath.Rel(v.Target, containerPath)
		if err != nil || rel == ".." || (len(rel) > 2 && rel[:3] == "../") {
			continue
		}
		if len(v.Target) > bestLen {
			best, bestLen = filepath.Join(v.Source, rel), len(v.Target)
		}
	}
	return best
}

// TwoHostsOverride is the compose override file for the load-generator host
// of a two-host set-up, relative to the repository root.
const TwoHostsOverride = "deploy/docker/compose.two-hosts.yml"
