package simulator

import (
	"log/slog"

	"github.com/servebench/servebench/runner/simulator/perfmodel"
)

// Capacity is the highest request rate (req/s) the engine configured by c
// sustains for requests of prompt and output tokens: perfmodel.Capacity on
// its scheduler configuration, Slowdown included, so it is in real seconds.
func (c Config) Capacity(prompt, output int) (float64, error) {
	_, sc, err := c.resolve(slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, err
	}
	return perfmodel.Capacity(sc, prompt, output)
}
