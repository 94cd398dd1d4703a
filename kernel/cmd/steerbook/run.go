package main

import (
	"fmt"
	"io"
)

// cmdRun executes a notebook headlessly. Placeholder until the runner lands.
func cmdRun(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "steerbook run: not built yet")
	return 1
}
