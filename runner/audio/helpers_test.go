package audio

import (
	"fmt"
	"os"
)

func writeFile(p string, b []byte) error         { return os.WriteFile(p, b, 0o644) }
func readFile(p string) ([]byte, error)          { return os.ReadFile(p) }
func fmtSscan(s string, v *float64) (int, error) { return fmt.Sscan(s, v) }
