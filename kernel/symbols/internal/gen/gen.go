// Package gen generates the yaegi symbol tables of kernel/symbols with
// yaegi's own extractor (the code behind `yaegi extract`), so that the
// tables always match the packages in this module and its go.mod.
package gen

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"

	"github.com/traefik/yaegi/extract"
)

// Packages are the compiled packages that cells can import, besides the
// standard library (which comes from yaegi's stdlib tables).
var Packages = []string{
	"gonum.org/v1/gonum/mat",
	"gonum.org/v1/gonum/stat",
	"gonum.org/v1/gonum/floats",
	"gonum.org/v1/plot",
	"gonum.org/v1/plot/plotter",
	"gonum.org/v1/plot/plotutil",
	"gonum.org/v1/plot/vg",
	"gonum.org/v1/plot/vg/draw",
	"github.com/steerbook/steerbook/kernel/display",
	"github.com/steerbook/steerbook/engine/progress",
	"github.com/steerbook/steerbook/engine",
	"github.com/steerbook/steerbook/engine/tokenizer",
	"github.com/steerbook/steerbook/engine/dsv4",
	"github.com/steerbook/steerbook/engine/defaultmodel",
	"github.com/steerbook/steerbook/engine/defaultmodel/corpus",
	"github.com/steerbook/steerbook/steerlib",
	"github.com/steerbook/steerbook/steerlib/plot",
	"github.com/steerbook/steerbook/steerlib/interop",
}

// FileName is the name of the generated file for an import path, as
// `yaegi extract` names it.
func FileName(importPath string) string {
	return strings.NewReplacer("/", "-", ".", "_", "~", "_").Replace(importPath) + ".go"
}

// exists reports whether the package is present (it may not be yet: the
// project's packages are written in parallel). `go list -e` answers
// without failing on compile errors, which Extract will then report.
func exists(importPath string) bool {
	out, err := exec.Command("go", "list", "-e", "-f", "{{if .Error}}{{.Error}}{{end}}{{len .GoFiles}}", importPath).CombinedOutput()
	if err != nil {
		return false
	}
	s := strings.TrimSpace(string(out))
	return s != "0" && !strings.Contains(s, "cannot find") && !strings.Contains(s, "no Go files") && !strings.Contains(s, "is not in std")
}

// Generate extracts every present package and returns file name → content.
// Missing packages are listed in skipped.
func Generate() (files map[string][]byte, skipped []string, err error) {
	files = map[string][]byte{}
	ext := extract.Extractor{Dest: "symbols"}
	for _, p := range Packages {
		if !exists(p) {
			skipped = append(skipped, p)
			continue
		}
		var buf bytes.Buffer
		if _, err := ext.Extract(p, "", &buf); err != nil {
			return nil, nil, fmt.Errorf("extracting %s: %w", p, err)
		}
		files[FileName(p)] = buf.Bytes()
	}
	return files, skipped, nil
}
