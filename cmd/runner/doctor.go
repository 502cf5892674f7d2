package main

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/internal/cli"
	"github.com/servebench/servebench/runner/doctor"
	"github.com/servebench/servebench/runner/engine"
)

func init() {
	register(func(e *env) *cobra.Command {
		var noDocker bool
		c := &cobra.Command{Use: "doctor", Short: "check the machine: topology, free cores, Docker, images, ports, tools", Args: cli.NoArgs,
			Example: "  runner doctor\n  runner doctor --no-docker",
			RunE:    func(c *cobra.Command, _ []string) error { return runDoctor(c.Context(), e, noDocker) }}
		c.Flags().BoolVar(&noDocker, "no-docker", false, "skip the Docker checks")
		return c
	})
}

func runDoctor(ctx context.Context, e *env, noDocker bool) error {
	deps := doctor.Deps{TopologyRoot: "/", LookPath: exec.LookPath, Getenv: e.getenv,
		Listen: doctor.ListenFree,
		Docker: func() (engine.DockerAPI, error) { return engine.NewDockerClientFromEnv(e.getenv) },
	}
	if noDocker {
		deps.Docker = nil
	}
	if failed := doctor.Write(e.stdout, doctor.Run(ctx, deps)); failed > 0 {
		return fmt.Errorf("doctor: %d check(s) failed", failed)
	}
	return nil
}
