// Package golden locates the golden tiny checkpoint that every layer of the
// product tests against: ../shared/golden/dsv4-tiny beside the repository
// root (its bf16/ and fp8/ folders and DeepSeek's reference logits; see its
// README). It is the one locator, so a test in any package finds the same
// folder, and one that cannot find it skips with the same message. It
// imports only the standard library, so any test package can use it, the
// safetensors reader's own tests included.
package golden

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns ../shared/golden/dsv4-tiny beside the repository root,
// whether or not it exists. The path is found from this file's location, so
// it does not depend on the test's working directory.
func Root() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", os.ErrNotExist
	}
	// file is <repo>/internal/golden/golden.go.
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "golden", "dsv4-tiny"))
}

// Dir returns the golden folder joined with sub (for example "bf16"; none
// for the root) and skips the test when that folder is absent: CI lays
// shared/ beside the clone, a bare checkout has none.
func Dir(t testing.TB, sub ...string) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatalf("golden: cannot locate the source file: %v", err)
	}
	d := filepath.Join(append([]string{root}, sub...)...)
	if _, err := os.Stat(d); err != nil {
		t.Skipf("golden checkpoint not found at %s (expected ../shared/golden/dsv4-tiny beside the repository): %v", d, err)
	}
	return d
}
