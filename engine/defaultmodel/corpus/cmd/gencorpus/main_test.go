package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "c.jsonl")
	for _, f := range []struct {
		path string
		seed uint64
	}{{a, 1}, {b, 1}, {c, 2}} {
		if err := run(f.seed, 500, f.path, "jsonl", "", true, false); err != nil {
			t.Fatal(err)
		}
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	bc, _ := os.ReadFile(c)
	if string(ba) != string(bb) {
		t.Fatal("same seed, different bytes")
	}
	if string(ba) == string(bc) {
		t.Fatal("different seeds, same bytes")
	}
	sc := bufio.NewScanner(strings.NewReader(string(ba)))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if r.Text == "" || r.Kind == "" || r.LogProb >= 0 {
			t.Fatalf("line %d: bad record %+v", n+1, r)
		}
		for _, s := range r.Spans {
			if s.End > len(r.Text) || s.Start >= s.End {
				t.Fatalf("line %d: span %+v outside text", n+1, s)
			}
		}
		n++
	}
	if n != 500 {
		t.Fatalf("%d lines, want 500", n)
	}
	txt := filepath.Join(dir, "t.txt")
	if err := run(1, 300, txt, "text", "review=1", false, false); err != nil {
		t.Fatal(err)
	}
	bt, _ := os.ReadFile(txt)
	if lines := strings.Split(strings.TrimSuffix(string(bt), "\n"), "\n"); len(lines) != 300 {
		t.Fatalf("text format: %d lines", len(lines))
	}
	if err := run(1, 1, txt, "yaml", "", false, false); err == nil {
		t.Fatal("bad format accepted")
	}
}
