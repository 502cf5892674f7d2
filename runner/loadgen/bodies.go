package loadgen

import (
	"errors"

	"github.com/servebench/servebench/runner/workload"
)

// RequestBodies renders the JSON body of every prompt of set as Run would
// send it under cfg (model, prompt or messages, max_tokens, ignore_eos,
// stream and its options, the extra body), for tools that send the same
// requests from files (the command load generator). cfg.Model must be set.
func RequestBodies(cfg Config, set *workload.Set) ([][]byte, error) {
	if cfg.Model == "" {
		return nil, errors.New("request bodies: no model")
	}
	ps, err := buildBodies(&cfg, cfg.Model, set.Items)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(ps))
	for i, p := range ps {
		out[i] = p.body
	}
	return out, nil
}
