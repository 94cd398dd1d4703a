package kernel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/steerbook/steerbook/kernel"
)

const testNB = `{
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n"]},
  {"cell_type": "code", "execution_count": 9, "metadata": {"tags": ["parameters"]},
   "outputs": [{"output_type": "stream", "name": "stdout", "text": "stale\n"}],
   "source": ["set alpha 1\n", "set name default"]},
  {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [],
   "source": "print a\nprint b\neprint warn\nshow bar 10%\nupdate bar 100%\nget alpha"},
  {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [], "source": "fail broken\n"},
  {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [{"output_type": "stream", "name": "stdout", "text": "old\n"}], "source": "print never"}
 ],
 "metadata": {"kernelspec": {"name": "steerbook", "display_name": "Go (Steerbook)", "language": "go"}, "custom": {"n": 1.50}},
 "nbformat": 4,
 "nbformat_minor": 4
}`

func runTestNB(t *testing.T, nb *Notebook) error {
	r := &Runner{NewInterpreter: newFake, SetPublisher: setTestPublisher, Timing: true,
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}
	return r.Run(context.Background(), nb)
}

func TestRunnerOutputsAndStop(t *testing.T) {
	nb, err := ParseNotebook([]byte(testNB))
	if err != nil {
		t.Fatal(err)
	}
	err = runTestNB(t, nb)
	var re *RunError
	if !errors.As(err, &re) {
		t.Fatalf("want a RunError, got %v", err)
	}
	if re.Index != 3 || re.Count != 3 || re.FirstLine != "fail broken" || !strings.Contains(re.Error(), "cell 3") {
		t.Errorf("RunError %+v: %v", re, re)
	}
	b, err := nb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		NBFormatMinor int `json:"nbformat_minor"`
		Metadata      map[string]any
		Cells         []struct {
			ID             string
			ExecutionCount *int `json:"execution_count"`
			Metadata       map[string]any
			Outputs        []map[string]any
		}
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.NBFormatMinor != 5 || !strings.Contains(string(b), `"n": 1.50`) {
		t.Errorf("nbformat_minor %d or metadata number not kept:\n%s", out.NBFormatMinor, b)
	}
	if out.Cells[0].ExecutionCount != nil || strings.Contains(string(b[:strings.Index(string(b), "# Title")]), "outputs") {
		t.Error("markdown cell got code fields")
	}
	c2 := out.Cells[2]
	if *c2.ExecutionCount != 2 || len(c2.Outputs) != 4 {
		t.Fatalf("cell 2: count %v, outputs %v", c2.ExecutionCount, c2.Outputs)
	}
	if c2.Outputs[0]["text"] != "a\nb\n" || c2.Outputs[1]["name"] != "stderr" {
		t.Errorf("streams not merged in order: %v", c2.Outputs)
	}
	if fmt.Sprint(c2.Outputs[2]["data"]) != "map[text/plain:[100%]]" {
		t.Errorf("update_display_data not applied: %v", c2.Outputs[2])
	}
	if c2.Outputs[3]["output_type"] != "execute_result" || fmt.Sprint(c2.Outputs[3]["data"]) != "map[text/plain:[1]]" {
		t.Errorf("execute_result %v", c2.Outputs[3])
	}
	if out.Cells[3].Outputs[0]["output_type"] != "error" || out.Cells[3].Outputs[0]["ename"] != "Failure" {
		t.Errorf("error output %v", out.Cells[3].Outputs)
	}
	if len(out.Cells[4].Outputs) != 0 || out.Cells[4].ExecutionCount != nil {
		t.Error("cell after the failure kept stale outputs or ran")
	}
	if len(out.Cells[1].Outputs) != 0 {
		t.Error("stale output of the parameters cell kept")
	}
	exec := out.Cells[2].Metadata["execution"].(map[string]any)
	if exec["shell.execute_reply"] != "2026-01-02T03:04:05Z" {
		t.Errorf("timing metadata %v", exec)
	}
	for i, c := range out.Cells {
		if c.ID == "" {
			t.Errorf("cell %d has no id", i)
		}
	}
	// Determinism: the same run gives the same bytes.
	nb2, _ := ParseNotebook([]byte(testNB))
	runTestNB(t, nb2)
	b2, _ := nb2.Marshal()
	if string(b) != string(b2) {
		t.Error("two runs of the same notebook differ")
	}
}

func TestInjectParameters(t *testing.T) {
	nb, _ := ParseNotebook([]byte(testNB))
	src := "var alpha = 0.5\nname := \"x\"\nconst k = 3\n"
	nb.SetCellSource(1, src)
	if err := nb.InjectParameters([]string{"alpha=0.75", "name=42", "k=4", "fresh=hello world"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(nb.CellTags(2), "injected-parameters") {
		t.Fatal("injected cell not right after the parameters cell")
	}
	got := nb.CellSource(2)
	want := "// Parameters injected by steerbook run\nalpha = 0.75\nname = \"42\"\nconst k = 4\nvar fresh = \"hello world\""
	if got != want {
		t.Errorf("injected source\n%s\nwant\n%s", got, want)
	}
	// Injecting again replaces the cell instead of stacking a second one.
	nb.InjectParameters([]string{"alpha=1"})
	n := 0
	for i := range nb.NumCells() {
		if slices.Contains(nb.CellTags(i), "injected-parameters") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d injected cells", n)
	}
	if err := nb.InjectParameters([]string{"1bad=2"}); err == nil {
		t.Error("bad parameter name accepted")
	}
}

func TestNotebookErrorsNameTheField(t *testing.T) {
	for src, want := range map[string]string{
		`{"nbformat": 4, "cells": [{"cell_type": "code", "source": 3}]}`:    "cells[0].source",
		`{"nbformat": 4, "cells": [{"cell_type": "python", "source": ""}]}`: "cells[0].cell_type",
		`{"nbformat": 3, "cells": []}`:                                      "nbformat",
		`{"nbformat": 4}`:                                                   "field cells",
		`{"nbformat": 4, "cells": [`:                                        "not valid JSON",
	} {
		dir := t.TempDir()
		p := filepath.Join(dir, "bad.ipynb")
		os.WriteFile(p, []byte(src), 0o644)
		_, err := ReadNotebook(p)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want it to name %q and the file", src, err, want)
		}
	}
}
