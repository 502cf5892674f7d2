package deploytest

import (
	"reflect"
	"testing"
)

func TestOverlap(t *testing.T) {
	if got := Overlap([]int{0, 1, 2}, []int{2, 3}); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("Overlap = %v", got)
	}
}
