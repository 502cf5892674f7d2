package main

import (
	"github.com/spf13/cobra"

	"github.com/servebench/servebench/internal/cli"
)

// The healthcheck command exists for container images built FROM scratch
// (docker-compose.yml's HEALTHCHECKs run it).
func init() {
	register(func(*env) *cobra.Command {
		return cli.Healthcheck("  runner healthcheck --timeout 2s http://127.0.0.1:9464/metrics")
	})
}
