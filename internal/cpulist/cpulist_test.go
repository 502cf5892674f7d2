package cpulist

import (
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for s, want := range map[string][]int{
		"":               nil,
		"  ":             nil,
		"0-2, 5,7-8":     {0, 1, 2, 5, 7, 8},
		"8, 0-3,2,10-11": {0, 1, 2, 3, 8, 10, 11},
		"4":              {4},
	} {
		if got, err := Parse(s); err != nil || !slices.Equal(got, want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, bad := range []string{"a", "3-1", "-1", "1-", "1,,2", "0-x"} {
		if got, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %v, accepted", bad, got)
		}
	}
}
