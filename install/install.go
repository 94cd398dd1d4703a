// Command install builds the steerbook binary and installs it as a Jupyter
// kernelspec, so that every Jupyter front-end can start the Go kernel.
//
//	go run ./install                 # per user (JUPYTER_DATA_DIR or ~/.local/share/jupyter)
//	go run ./install --sys-prefix    # into the active virtualenv / conda env
//	go run ./install --prefix DIR    # into DIR/share/jupyter/kernels
//
// The binary is built into the kernelspec folder itself (or --bin-dir), so
// that removing the kernelspec removes everything.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/steerbook/steerbook/kernel"
)

// Options says where and how to install.
type Options struct {
	Mode          string // "user", "prefix" or "sys-prefix"
	Prefix        string // for Mode "prefix"
	Name          string // kernelspec name
	DisplayName   string
	InterruptMode string // "message" or "signal"
	Binary        string // an already built binary to copy instead of building
	BinDir        string // where the binary goes (default: the kernelspec folder)
	Env           func(string) string
	Stdout        *os.File
}

// KernelSpec is the content of kernel.json.
type KernelSpec struct {
	Argv                  []string          `json:"argv"`
	DisplayName           string            `json:"display_name"`
	Language              string            `json:"language"`
	InterruptMode         string            `json:"interrupt_mode"`
	KernelProtocolVersion string            `json:"kernel_protocol_version"`
	Env                   map[string]string `json:"env,omitempty"`
	Metadata              map[string]any    `json:"metadata"`
}

// kernelsDir returns the folder holding kernelspecs for the chosen mode,
// following jupyter_core's rules for the data directory.
func kernelsDir(o Options) (string, error) {
	getenv := o.Env
	if getenv == nil {
		getenv = os.Getenv
	}
	switch o.Mode {
	case "prefix":
		if o.Prefix == "" {
			return "", errors.New("--prefix needs a folder")
		}
		p, err := filepath.Abs(o.Prefix)
		if err != nil {
			return "", err
		}
		return filepath.Join(p, "share", "jupyter", "kernels"), nil
	case "sys-prefix":
		p := getenv("VIRTUAL_ENV")
		if p == "" {
			p = getenv("CONDA_PREFIX")
		}
		if p == "" {
			out, err := exec.Command("python3", "-c", "import sys; print(sys.prefix)").Output()
			if err != nil {
				return "", fmt.Errorf("--sys-prefix: no VIRTUAL_ENV or CONDA_PREFIX, and asking python3 for sys.prefix failed: %w", err)
			}
			p = strings.TrimSpace(string(out))
		}
		return filepath.Join(p, "share", "jupyter", "kernels"), nil
	case "user", "":
		d, err := kernel.UserDataDir(getenv)
		if err != nil {
			return "", fmt.Errorf("--user: %w", err)
		}
		return filepath.Join(d, "kernels"), nil
	}
	return "", fmt.Errorf("unknown install mode %q", o.Mode)
}

// Install builds (or copies) the binary and writes the kernelspec. It
// returns the kernelspec folder.
func Install(o Options) (string, error) {
	if o.Name == "" {
		o.Name = "steerbook"
	}
	if o.DisplayName == "" {
		o.DisplayName = "Go (Steerbook)"
	}
	switch o.InterruptMode {
	case "":
		o.InterruptMode = "message"
	case "message", "signal":
	default:
		return "", fmt.Errorf("--interrupt-mode %q: want message or signal", o.InterruptMode)
	}
	kdir, err := kernelsDir(o)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(kdir, o.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating kernelspec folder: %w", err)
	}
	binDir := o.BinDir
	if binDir == "" {
		binDir = dir
	}
	if binDir, err = filepath.Abs(binDir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", fmt.Errorf("creating binary folder: %w", err)
	}
	exe := "steerbook"
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	bin := filepath.Join(binDir, exe)
	if o.Binary != "" {
		if err := copyFile(o.Binary, bin); err != nil {
			return "", err
		}
	} else if err := build(bin, o.Stdout); err != nil {
		return "", err
	}
	spec := KernelSpec{
		Argv:                  []string{bin, "kernel", "{connection_file}"},
		DisplayName:           o.DisplayName,
		Language:              "go",
		InterruptMode:         o.InterruptMode,
		KernelProtocolVersion: "5.3",
		Metadata:              map[string]any{"debugger": false, "steerbook": map[string]any{"go": runtime.Version()}},
	}
	b, _ := json.MarshalIndent(spec, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "kernel.json"), append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("writing kernel.json: %w", err)
	}
	for _, size := range []int{32, 64} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("logo-%dx%d.png", size, size)), Logo(size), 0o644); err != nil {
			return "", fmt.Errorf("writing logo: %w", err)
		}
	}
	return dir, nil
}

// build compiles ./kernel/cmd/steerbook of this module into bin.
func build(bin string, out *os.File) error {
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return fmt.Errorf("finding the steerbook module (run from inside the repository): %w", err)
	}
	cmd := exec.Command("go", "build", "-o", bin, "./kernel/cmd/steerbook")
	cmd.Dir = strings.TrimSpace(string(root))
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./kernel/cmd/steerbook: %w", err)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("--binary: %w", err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst) // a running kernel keeps its old inode
}
