package main

import (
	"fmt"
	"io"
)

// cmdKernel starts the Jupyter kernel. Placeholder until the kernel lands.
func cmdKernel(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "steerbook kernel: not built yet")
	return 1
}
