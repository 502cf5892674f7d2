package compare

import "fmt"

// Check reports options a person gave out of range, naming runner
// compare's flags; Compare itself fills unset options with defaults.
func (o Options) Check() error {
	if o.Alpha <= 0 || o.Alpha >= 0.5 {
		return fmt.Errorf("--alpha %g: want 0 < alpha < 0.5", o.Alpha)
	}
	if o.MinChange < 0 || o.Iterations < 100 || o.CoreHourPrice < 0 {
		return fmt.Errorf("--min-change must be >= 0, --iterations >= 100, --core-hour-price >= 0")
	}
	if o.Power <= 0 || o.Power >= 1 || o.MaxMDE <= 0 {
		return fmt.Errorf("--power must lie in (0, 1) and --max-mde be > 0")
	}
	return nil
}

// CrossSides is Cross over every cell of every side, repeats included.
func CrossSides(sides []Side, force bool) ([]CrossTable, error) {
	var cells []Cell
	for _, s := range sides {
		for _, r := range s.Repeats {
			cells = append(cells, r...)
		}
	}
	return Cross(cells, force)
}

// LoadAll loads every path as Load does, the cells in order of the paths.
func (l Loader) LoadAll(paths []string) ([]Cell, error) {
	var all []Cell
	for _, p := range paths {
		cells, err := l.Load(p)
		if err != nil {
			return nil, err
		}
		all = append(all, cells...)
	}
	return all, nil
}
