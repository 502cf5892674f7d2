package deploytest

import (
	"reflect"
	"testing"
)

func TestParseCPUSet(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{"0-3", []int{0, 1, 2, 3}, false},
		{"8,10-11, 9", []int{8, 9, 10, 11}, false},
		{"5", []int{5}, false},
		{"", nil, true},
		{"3-1", nil, true},
		{"a-b", nil, true},
	} {
		got, err := ParseCPUSet(tc.in)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseCPUSet(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	if got := Overlap([]int{0, 1, 2}, []int{2, 3}); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("Overlap = %v", got)
	}
}
