package cell_test

import (
	"context"
	"fmt"
	"os"

	"github.com/steerbook/steerbook/kernel/cell"
)

// A session keeps state from cell to cell, and a redefined function reaches
// the functions that call it.
func ExampleSession_Execute() {
	s, err := cell.New(cell.Options{Stdout: os.Stdout})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	cells := []string{
		"import \"fmt\"\nfunc unit() string { return \"m\" }\nfunc show(v int) string { return fmt.Sprint(v, unit()) }",
		"show(3)",
		"func unit() string { return \"km\" }\nshow(3)",
		"fmt.Println(max(2, 7), min(2.5, 1))",
	}
	for i, src := range cells {
		r, err := s.Execute(ctx, src, i+1)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		if r.HasValue {
			fmt.Println("Out:", r.Bundle["text/plain"])
		}
	}
	// Output:
	// Out: 3m
	// Out: 3km
	// 7 1
}

// Errors name the cell line and, for what yaegi cannot do, the workaround.
func ExampleError() {
	s, _ := cell.New(cell.Options{})
	_, err := s.Execute(context.Background(), "x := 1\ny := x + undefinedName", 1)
	if ce, ok := err.(*cell.Error); ok {
		fmt.Println(ce.Name, ce.Line, ce.Message)
	}
	// Output: CompileError 2 undefined: undefinedName
}

func ExampleIsComplete() {
	status, indent := cell.IsComplete("for i := 0; i < 3; i++ {")
	fmt.Printf("%s %q\n", status, indent)
	status, indent = cell.IsComplete("x := 1")
	fmt.Printf("%s %q\n", status, indent)
	// Output:
	// incomplete "    "
	// complete ""
}
