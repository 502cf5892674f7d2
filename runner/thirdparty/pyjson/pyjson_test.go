package pyjson

import (
	"encoding/json"
	"testing"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1.5}`: `{"a":1.5}`,
		`{"mean_ttft_ms":NaN,"rate":Infinity,"x":-Infinity}`:  `{"mean_ttft_ms":null,"rate":null,"x":null}`,
		`{"label":"NaN and Infinity \"NaN\"","v":[NaN, 2]}`:   `{"label":"NaN and Infinity \"NaN\"","v":[null, 2]}`,
		`{"s":"a\\","v":NaN}`:                                 `{"s":"a\\","v":null}`,
		`{"request_rate":"inf","burstiness":Infinity}` + "\n": `{"request_rate":"inf","burstiness":null}` + "\n",
	} {
		got := string(Clean([]byte(in)))
		if got != want {
			t.Errorf("Clean(%s)\n got %s\nwant %s", in, got, want)
		}
		var v any
		if err := json.Unmarshal([]byte(got), &v); err != nil {
			t.Errorf("Clean(%s) is not JSON: %v", in, err)
		}
	}
}
