package loadgen

import (
	"errors"
	"fmt"
	"strings"

	"github.com/servebench/servebench/runner/results"
)

// Errors that say a run failed although it ran: callers map them to an exit
// code (runner: 4) with errors.Is.
var (
	// ErrNoSuccess is wrapped by CheckSuccess's error when a level had no
	// successful request.
	ErrNoSuccess = errors.New("no successful request")
	// ErrAllLevelsFailed is wrapped as well when that was every level.
	ErrAllLevelsFailed = errors.New("every level failed")
	// ErrAborted is wrapped by Run's error when a level was aborted (see
	// level.abort): its measurement is meaningless and no level followed.
	ErrAborted = errors.New("level aborted")
)

// CheckSuccess returns nil when every benchmark had at least one successful
// request, else an error wrapping ErrNoSuccess (and ErrAllLevelsFailed when
// none had one) that names the levels and what their requests did.
func CheckSuccess(bms []results.Benchmark) error {
	var bad []string
	for _, b := range bms {
		if b.Requests.Successful > 0 {
			continue
		}
		r := b.Requests
		what := fmt.Sprintf("%d failed, %d incomplete", r.Failed, r.Incomplete)
		if r.Failed+r.Incomplete == 0 {
			what = "no request measured"
		}
		bad = append(bad, fmt.Sprintf("%s (%s)", b.Level, what))
	}
	if len(bad) == 0 {
		return nil
	}
	n := len(bad)
	if n > maxNamed {
		bad = append(bad[:maxNamed], fmt.Sprintf("and %d more", n-maxNamed))
	}
	if n == len(bms) {
		return fmt.Errorf("%w: %w: %s", ErrAllLevelsFailed, ErrNoSuccess, strings.Join(bad, ", "))
	}
	return fmt.Errorf("%w in %d of %d levels: %s", ErrNoSuccess, n, len(bms), strings.Join(bad, ", "))
}

// maxNamed is how many failed levels CheckSuccess names.
const maxNamed = 4
