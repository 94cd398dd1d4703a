package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestInstallUserHonoursJupyterDataDir(t *testing.T) {
	data := t.TempDir()
	fake := filepath.Join(t.TempDir(), "prebuilt")
	os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755)
	env := map[string]string{"JUPYTER_DATA_DIR": data, "HOME": "/nonexistent"}
	dir, err := Install(Options{Mode: "user", Binary: fake, Env: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(data, "kernels", "steerbook"); dir != want {
		t.Fatalf("installed in %s, want %s", dir, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec KernelSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "steerbook")
	if len(spec.Argv) != 3 || spec.Argv[0] != bin || spec.Argv[1] != "kernel" || spec.Argv[2] != "{connection_file}" {
		t.Errorf("argv %v", spec.Argv)
	}
	if spec.DisplayName != "Go (Steerbook)" || spec.Language != "go" || spec.InterruptMode != "message" {
		t.Errorf("spec %+v", spec)
	}
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("binary not installed executable: %v", err)
	}
	for _, size := range []int{32, 64} {
		f, err := os.ReadFile(filepath.Join(dir, "logo-"+itoa(size)+"x"+itoa(size)+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(f))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() != size || img.Bounds().Dy() != size {
			t.Errorf("logo %d is %v", size, img.Bounds())
		}
		// The centre (hub) is drawn, the corner is transparent.
		if _, _, _, a := img.At(size/2, size/2).RGBA(); a == 0 {
			t.Errorf("logo %d: hub not drawn", size)
		}
		if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
			t.Errorf("logo %d: corner not transparent", size)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestInstallPrefixAndSysPrefix(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "prebuilt")
	os.WriteFile(fake, []byte("x"), 0o755)
	p := t.TempDir()
	dir, err := Install(Options{Mode: "prefix", Prefix: p, Binary: fake, InterruptMode: "signal", Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(p, "share", "jupyter", "kernels", "steerbook") {
		t.Errorf("prefix install in %s", dir)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "kernel.json"))
	var spec KernelSpec
	json.Unmarshal(b, &spec)
	if spec.InterruptMode != "signal" {
		t.Errorf("interrupt_mode %q", spec.InterruptMode)
	}
	venv := t.TempDir()
	dir, err = Install(Options{Mode: "sys-prefix", Binary: fake, Env: func(k string) string {
		if k == "VIRTUAL_ENV" {
			return venv
		}
		return ""
	}})
	if err != nil || dir != filepath.Join(venv, "share", "jupyter", "kernels", "steerbook") {
		t.Errorf("sys-prefix install in %s (%v)", dir, err)
	}
	if _, err := Install(Options{Mode: "user", Binary: fake, InterruptMode: "telepathy", Env: func(string) string { return p }}); err == nil {
		t.Error("bad interrupt mode accepted")
	}
}
