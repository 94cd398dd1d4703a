package kernel_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/steerbook/steerbook/kernel"
)

// Messages are signed with the connection file's key; Decode refuses a
// message whose signature does not match.
func ExampleCodec() {
	codec, _ := kernel.NewCodec("hmac-sha256", "secret")
	h := kernel.NewHeader("session-1", "execute_request")
	frames, _ := codec.Encode(nil, h, nil, nil, map[string]any{"code": "1 + 1"})
	m, err := codec.Decode(frames)
	fmt.Println(m.Header.MsgType, err)

	frames[3] = []byte(`{"forged": true}`) // tamper with the parent header
	_, err = codec.Decode(frames)
	fmt.Println(err)
	// Output:
	// execute_request <nil>
	// kernel: bad message signature
}

// upper is a stand-in interpreter: a cell's value is its source in capitals.
type upper struct{}

func (upper) Execute(_ context.Context, src string, _ int) (any, bool, error) {
	return strings.ToUpper(src), true, nil
}
func (upper) Complete(string, int) ([]string, int, int) { return nil, 0, 0 }
func (upper) Inspect(string, int) (string, bool)        { return "", false }
func (upper) IsComplete(string) (string, string)        { return "complete", "" }

// A Runner executes a notebook's code cells in order and writes their
// outputs into it; steerbook run is this plus file handling.
func ExampleRunner() {
	nb, _ := kernel.ParseNotebook([]byte(`{"nbformat": 4, "nbformat_minor": 5, "metadata": {},
		"cells": [{"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": null, "outputs": [], "source": "hello"}]}`))
	r := &kernel.Runner{NewInterpreter: func(kernel.IO) (kernel.Interpreter, error) { return upper{}, nil }}
	if err := r.Run(context.Background(), nb); err != nil {
		fmt.Println(err)
	}
	out := nb.CellOutputs(0)[0]
	fmt.Println(out["output_type"], out["data"])
	// Output:
	// execute_result map[text/plain:[HELLO]]
}

// InjectParameters adds papermill's "injected-parameters" cell after the
// cell tagged "parameters", quoting values declared as strings.
func ExampleNotebook_InjectParameters() {
	nb, _ := kernel.ParseNotebook([]byte(`{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
		{"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "execution_count": null, "outputs": [],
		 "source": "var prompt = \"hi\"\nvar layer = 3"}]}`))
	nb.InjectParameters([]string{"prompt=42", "layer=7"})
	fmt.Println(nb.CellTags(1))
	fmt.Println(nb.CellSource(1))
	// Output:
	// [injected-parameters]
	// // Parameters injected by steerbook run
	// prompt = "42"
	// layer = 7
}
