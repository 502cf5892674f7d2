package main

import (
	"cmp"
	"fmt"
	"os"
	"strings"
)

// The environment defaults of runner's flags, resolved here and nowhere
// else in cmd (the suite's SERVEBENCH_* variables are suite.FromEnv's).

// resultsRoot is the results directory: the --results flag, else
// SERVEBENCH_RESULTS, else results (suite.Resolve's default, for runner start).
func resultsRoot(flag string, getenv func(string) string) string {
	return cmp.Or(flag, getenv("SERVEBENCH_RESULTS"), "results")
}

// pushURLs are the --push.url values, else $SERVEBENCH_PUSH_URL's.
func pushURLs(flag []string, getenv func(string) string) []string {
	if len(flag) > 0 {
		return flag
	}
	var out []string
	for _, u := range strings.Split(getenv("SERVEBENCH_PUSH_URL"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// readAPIKey reads the external engine's key from a file or SERVEBENCH_API_KEY.
func readAPIKey(file string, getenv func(string) string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--api-key-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return getenv("SERVEBENCH_API_KEY"), nil
}

// secretsFromEnv passes HF_TOKEN through to engine containers; it is never
// logged or recorded.
func secretsFromEnv(getenv func(string) string) map[string]string {
	s := map[string]string{}
	if v := getenv("HF_TOKEN"); v != "" {
		s["HF_TOKEN"] = v
	}
	return s
}
