package main

import (
	"fmt"
	"io"
)

// The engine's subcommands. Placeholders until the engine lands.

func cmdModel(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "steerbook model: not built yet")
	return 1
}

func cmdGenerate(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "steerbook generate: not built yet")
	return 1
}

func cmdLogits(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "steerbook logits: not built yet")
	return 1
}
