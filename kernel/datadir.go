package kernel

import (
	"errors"
	"path/filepath"
	"runtime"
)

// UserDataDir is Jupyter's per-user data folder, by jupyter_core's rules:
// JUPYTER_DATA_DIR, else ~/Library/Jupyter (macOS), %APPDATA%\jupyter or
// ~/.jupyter/data (Windows), $XDG_DATA_HOME/jupyter or
// ~/.local/share/jupyter. getenv reads the environment (os.Getenv; tests
// pass their own). The installer puts the kernelspec under it, and the
// kernel its history file.
func UserDataDir(getenv func(string) string) (string, error) {
	if d := getenv("JUPYTER_DATA_DIR"); d != "" {
		return filepath.Abs(d)
	}
	if runtime.GOOS == "windows" {
		if a := getenv("APPDATA"); a != "" {
			return filepath.Join(a, "jupyter"), nil
		}
	}
	home := getenv("HOME")
	if home == "" && runtime.GOOS == "windows" {
		home = getenv("USERPROFILE")
	}
	if home == "" {
		return "", errors.New("neither JUPYTER_DATA_DIR nor HOME is set")
	}
	if runtime.GOOS == "windows" { // no APPDATA: jupyter_core's ~/.jupyter/data
		return filepath.Join(home, ".jupyter", "data"), nil
	}
	if runtime.GOOS == "darwin" {
		return filepath.Join(home, "Library", "Jupyter"), nil
	}
	if x := getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "jupyter"), nil
	}
	return filepath.Join(home, ".local", "share", "jupyter"), nil
}
