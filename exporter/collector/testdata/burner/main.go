// Command burner is the workload of the container collector's end-to-end
// test: it burns CPU in short bursts, forever, inside a FROM scratch image.
package main

import "time"

func main() {
	x := 0
	for {
		end := time.Now().Add(20 * time.Millisecond)
		for time.Now().Before(end) {
			x++
		}
		time.Sleep(10 * time.Millisecond)
	}
}
