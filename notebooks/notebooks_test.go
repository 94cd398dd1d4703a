// Tests of the published notebooks.
//
// The notebooks are committed with their outputs, so they read well on a
// code-hosting site without running. These tests make sure that what is
// published is what the notebook computes:
//
//   - TestStructure (fast, always): nbformat 4.5, the Steerbook kernelspec, an
//     opening question, a parameters cell, outputs present, provenance
//     (Steerbook version, model hash, dataset hashes) printed, and no numbers
//     typed into markdown (claims are printed by code).
//   - TestExecution (slow, skipped with -short): executes every notebook twice
//     with the kernel's headless runner (`steerbook run`) and requires
//     identical outputs (determinism, timing metadata ignored), and requires
//     the committed outputs to equal a fresh execution (published outputs
//     never go stale). Cells tagged "timing" hold speed measurements of the
//     machine (notebook 07) and are the one exception: their outputs are not
//     compared.
//   - TestRealModelNotebookOnGolden (slow): notebook 07, written for
//     DeepSeek-V4-Flash, runs on the golden tiny checkpoint through its
//     parameters cell.
//
// Environment knobs, for working on the notebooks:
//
//	STEERBOOK_NB=01-quickstart     run only notebooks whose name contains this
//	STEERBOOK_NB_MODEL=/path       run against another model folder (-p modelPath=…);
//	                               the committed-output comparison is then skipped
//	STEERBOOK_NB_UPDATE=1          write the fresh execution back into notebooks/
//	                               (how the committed outputs are produced)
package notebooks_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/internal/golden"
)

// notebook is the part of nbformat the tests read.
type notebook struct {
	Metadata struct {
		Kernelspec struct {
			Name     string `json:"name"`
			Language string `json:"language"`
		} `json:"kernelspec"`
	} `json:"metadata"`
	Nbformat      int    `json:"nbformat"`
	NbformatMinor int    `json:"nbformat_minor"`
	Cells         []cell `json:"cells"`
}

type cell struct {
	CellType       string `json:"cell_type"`
	ID             string `json:"id"`
	Source         any    `json:"source"` // string or list of strings
	ExecutionCount *int   `json:"execution_count"`
	Metadata       struct {
		Tags []string `json:"tags"`
	} `json:"metadata"`
	Outputs []map[string]any `json:"outputs"`
}

func joinText(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case []any:
		var b strings.Builder
		for _, x := range s {
			b.WriteString(fmt.Sprint(x))
		}
		return b.String()
	}
	return ""
}

func (c cell) source() string { return joinText(c.Source) }

func readNotebook(t *testing.T, path string) *notebook {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &nb
}

// notebooks lists the published notebooks (NN-name.ipynb), filtered by STEERBOOK_NB.
func notebooks(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("[0-9][0-9]-*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no notebooks found in notebooks/")
	}
	if f := os.Getenv("STEERBOOK_NB"); f != "" {
		paths = slices.DeleteFunc(paths, func(p string) bool { return !strings.Contains(p, f) })
	}
	return paths
}

// Markdown may name things with digits (DeepSeek-V4, §5, step "1.") but may
// not state results: those are printed by code cells.
var allowedDigits = regexp.MustCompile("`[^`]*`|DeepSeek-V\\d(-Flash)?|V4|§\\d+|\\(\\S+\\.(ipynb|md|png)\\)|^#+ \\d+|\\bE\\d\\b|\\bF1\\b|\\bnbformat \\d\\.\\d")

func TestStructure(t *testing.T) {
	for _, path := range notebooks(t) {
		t.Run(strings.TrimSuffix(path, ".ipynb"), func(t *testing.T) {
			nb := readNotebook(t, path)
			if nb.Nbformat != 4 || nb.NbformatMinor != 5 {
				t.Errorf("nbformat %d.%d, want 4.5", nb.Nbformat, nb.NbformatMinor)
			}
			if ks := nb.Metadata.Kernelspec; ks.Name != "steerbook" || ks.Language != "go" {
				t.Errorf("kernelspec %+v, want name steerbook, language go (install/ writes that kernel.json)", ks)
			}
			if len(nb.Cells) == 0 || nb.Cells[0].CellType != "markdown" || !strings.Contains(nb.Cells[0].source(), "**Question:**") {
				t.Errorf("the first cell must be markdown stating the **Question:** the notebook answers")
			}
			if strings.HasPrefix(path, "01-") && len(nb.Cells) > 10 {
				t.Errorf("quickstart has %d cells, at most 10 allowed", len(nb.Cells))
			}
			var params []cell
			var out strings.Builder
			for i, c := range nb.Cells {
				switch c.CellType {
				case "markdown":
					for ln, line := range strings.Split(c.source(), "\n") {
						if rest := allowedDigits.ReplaceAllString(line, ""); strings.ContainsAny(rest, "0123456789") {
							t.Errorf("cell %d (markdown) line %d types a number; print claims from code instead: %q", i, ln+1, line)
						}
					}
				case "code":
					if slices.Contains(c.Metadata.Tags, "parameters") {
						params = append(params, c)
					}
					if c.ExecutionCount == nil {
						t.Errorf("cell %d (code) was not executed: commit notebooks with outputs (STEERBOOK_NB_UPDATE=1 go test ./notebooks)", i)
					}
					for _, o := range c.Outputs {
						if o["output_type"] == "error" {
							t.Errorf("cell %d has a stored error output: %v", i, o["evalue"])
						}
						out.WriteString(outputText(o))
					}
				}
			}
			if len(params) != 1 {
				t.Fatalf("%d cells tagged \"parameters\", want 1", len(params))
			}
			for _, name := range []string{"modelPath", "seed"} {
				if !regexp.MustCompile(`(?m)^\s*` + name + `\s*:?=`).MatchString(params[0].source()) {
					t.Errorf("parameters cell does not set %s", name)
				}
			}
			text := out.String()
			for what, re := range map[string]string{
				"Steerbook version": `Steerbook (v?\d+\.\d+\.\d+|\S+)`,
				"model hash":        `model (hash )?[0-9a-f]{12,64}`,
				"dataset hash":      `dataset \S+ (hash )?[0-9a-f]{12,64}`,
			} {
				if !regexp.MustCompile(re).MatchString(text) {
					t.Errorf("outputs do not record the %s (want a match of %s)", what, re)
				}
			}
		})
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// steerbook builds the kernel binary once per test run.
func steerbook(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "steerbook-nbtest")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "steerbook")
		cmd := exec.Command("go", "build", "-o", binPath, "./kernel/cmd/steerbook")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./kernel/cmd/steerbook: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// run executes a notebook headlessly from the repository root (as the README's
// main-job command does) and returns the executed notebook's bytes.
func run(t *testing.T, bin, path string, params []string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	args := []string{"run", filepath.Join("notebooks", path), "-o", out, "--no-timing"}
	for _, p := range params {
		args = append(args, "-p", p)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = ".."
	start := time.Now()
	msg, err := cmd.CombinedOutput()
	t.Logf("steerbook run %s: %.1fs", path, time.Since(start).Seconds())
	if err != nil {
		t.Fatalf("steerbook %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// progressTiming is the rate/ETA part of a progress bar's text, e.g.
// "[00:01<00:00, 65.28 it/s]": timing, not a result.
var progressTiming = regexp.MustCompile(`\[\d+:\d\d(:\d\d)?(<|&lt;)[^\]]*\]|\d+(\.\d+)? ?(it|s)/s`)

// outputText flattens one output to comparable text: its type, stream name,
// text and every MIME representation (images included, as base64), with
// progress-bar timing removed. Output metadata (where timing lives) is
// ignored.
func outputText(o map[string]any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<%v", o["output_type"])
	if n, ok := o["name"]; ok {
		fmt.Fprintf(&b, " %v", n)
	}
	if ec, ok := o["execution_count"]; ok {
		fmt.Fprintf(&b, " #%v", ec)
	}
	b.WriteString(">\n")
	if s, ok := o["text"]; ok {
		b.WriteString(joinText(s))
	}
	if d, ok := o["data"].(map[string]any); ok {
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			var v string
			switch x := d[k].(type) {
			case string, []any:
				v = joinText(x)
			default:
				j, _ := json.Marshal(x)
				v = string(j)
			}
			fmt.Fprintf(&b, "[%s]\n%s\n", k, v)
		}
	}
	for _, k := range []string{"ename", "evalue"} {
		if v, ok := o[k]; ok {
			fmt.Fprintf(&b, "%s: %v\n", k, v)
		}
	}
	return progressTiming.ReplaceAllString(b.String(), "[timing]")
}

// cellOutputs is every code cell's source and outputs, comparable.
func cellOutputs(t *testing.T, b []byte) []string {
	t.Helper()
	var nb notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatal(err)
	}
	var cells []string
	for _, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		var s strings.Builder
		if slices.Contains(c.Metadata.Tags, "timing") {
			// Measurements of this machine's speed (notebook 07): they
			// differ between runs by nature, so only the cell's presence
			// is compared.
			cells = append(cells, "cell "+c.ID+" [timing]\n")
			continue
		}
		ec := "none"
		if c.ExecutionCount != nil {
			ec = fmt.Sprint(*c.ExecutionCount)
		}
		fmt.Fprintf(&s, "cell %s [%s]\n", c.ID, ec)
		for _, o := range c.Outputs {
			s.WriteString(outputText(o))
		}
		cells = append(cells, s.String())
	}
	return cells
}

// compare reports the first differing cell of two executions.
func compare(t *testing.T, what string, a, b []string) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d code cells vs %d", what, len(a), len(b))
		return
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("%s: code cell %d differs:\n--- %s\n+++ %s", what, i, excerpt(a[i]), excerpt(b[i]))
			return
		}
	}
}

func excerpt(s string) string {
	if len(s) > 1500 {
		return s[:1500] + "…"
	}
	return s
}

func TestExecution(t *testing.T) {
	if testing.Short() {
		t.Skip("executes every notebook twice (minutes); skipped with -short")
	}
	bin := steerbook(t)
	var params []string
	model := os.Getenv("STEERBOOK_NB_MODEL")
	if model != "" {
		params = append(params, "modelPath="+model)
	}
	for _, path := range notebooks(t) {
		t.Run(strings.TrimSuffix(path, ".ipynb"), func(t *testing.T) {
			first := run(t, bin, path, params)
			second := run(t, bin, path, params)
			a, b := cellOutputs(t, first), cellOutputs(t, second)
			compare(t, "two executions (determinism)", a, b)
			if os.Getenv("STEERBOOK_NB_UPDATE") != "" && !t.Failed() {
				if model != "" {
					t.Fatal("STEERBOOK_NB_UPDATE with STEERBOOK_NB_MODEL: published notebooks run on their own parameters")
				}
				if err := os.WriteFile(path, first, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", path)
				if strings.HasPrefix(path, "01-") {
					writeFigures(t, path, first)
				}
				return
			}
			if model != "" {
				t.Log("STEERBOOK_NB_MODEL set: committed outputs not compared")
				return
			}
			committed, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(committed, []byte(`"outputs"`)) {
				t.Fatalf("%s has no outputs", path)
			}
			compare(t, "committed outputs vs a fresh execution (stale? rerun with STEERBOOK_NB_UPDATE=1)", cellOutputs(t, committed), a)
			if strings.HasPrefix(path, "01-") {
				checkFigures(t, path, first)
			}
		})
	}
}

// TestRealModelNotebookOnGolden runs the DeepSeek-V4-Flash notebook on the
// golden tiny checkpoint (which has no tokenizer.json, so the notebook is given
// the tokenizer test file), as CI does: the same notebook, other parameters.
func TestRealModelNotebookOnGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("executes notebook 07 (a minute); skipped with -short")
	}
	gdir := golden.Dir(t, "bf16")
	tok, err := filepath.Abs("../engine/tokenizer/testdata/trained_tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob("07-*.ipynb")
	if len(paths) != 1 {
		t.Fatalf("notebook 07 not found (%v)", paths)
	}
	gm, err := engine.Load(gdir, engine.WithoutTokenizer())
	if err != nil {
		t.Fatal(err)
	}
	b := run(t, steerbook(t), paths[0], []string{"modelPath=" + gdir, "tokenizerPath=" + tok})
	text := strings.Join(cellOutputs(t, b), "")
	for _, want := range []string{"model " + gm.Hash(), "sentiment.gguf", "reads back with cosine 1.000000"} {
		if !strings.Contains(text, want) {
			t.Errorf("notebook 07 on the golden checkpoint: output lacks %q", want)
		}
	}
}

// figures returns the PNG images a notebook displays, in order.
func figures(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var nb notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, c := range nb.Cells {
		for _, o := range c.Outputs {
			d, ok := o["data"].(map[string]any)
			if !ok {
				continue
			}
			if s := joinText(d["image/png"]); s != "" {
				png, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(s, "\n", ""))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, png)
			}
		}
	}
	return out
}

// figurePath is where the README finds the quickstart's k-th figure.
func figurePath(nb string, k int) string {
	return filepath.Join("figures", fmt.Sprintf("%s-%d.png", strings.TrimSuffix(nb, ".ipynb"), k+1))
}

// writeFigures saves the quickstart's figures as PNG files for the README.
func writeFigures(t *testing.T, nb string, b []byte) {
	t.Helper()
	if err := os.MkdirAll("figures", 0o755); err != nil {
		t.Fatal(err)
	}
	for k, png := range figures(t, b) {
		if err := os.WriteFile(figurePath(nb, k), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkFigures requires the README's figure files to be the notebook's figures.
func checkFigures(t *testing.T, nb string, b []byte) {
	t.Helper()
	for k, png := range figures(t, b) {
		old, err := os.ReadFile(figurePath(nb, k))
		if err != nil || !bytes.Equal(old, png) {
			t.Errorf("%s is not figure %d of a fresh execution of %s (rerun with STEERBOOK_NB_UPDATE=1)", figurePath(nb, k), k+1, nb)
		}
	}
}
