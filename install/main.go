package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	var o Options
	user := flag.Bool("user", false, "install for the current user (default; honours JUPYTER_DATA_DIR)")
	sys := flag.Bool("sys-prefix", false, "install into the active Python environment (VIRTUAL_ENV, CONDA_PREFIX or python3's sys.prefix)")
	flag.StringVar(&o.Prefix, "prefix", "", "install into `DIR`/share/jupyter/kernels")
	flag.StringVar(&o.Name, "name", "steerbook", "kernelspec name")
	flag.StringVar(&o.DisplayName, "display-name", "Go (Steerbook)", "name shown in front-ends")
	flag.StringVar(&o.InterruptMode, "interrupt-mode", "message", "how front-ends interrupt: message or signal")
	flag.StringVar(&o.Binary, "binary", "", "copy this already built steerbook binary instead of building")
	flag.StringVar(&o.BinDir, "bin-dir", "", "put the binary in `DIR` instead of the kernelspec folder")
	flag.Parse()
	n := 0
	for _, b := range []bool{*user, *sys, o.Prefix != ""} {
		if b {
			n++
		}
	}
	if n > 1 {
		fmt.Fprintln(os.Stderr, "install: choose one of --user, --sys-prefix, --prefix")
		os.Exit(2)
	}
	switch {
	case *sys:
		o.Mode = "sys-prefix"
	case o.Prefix != "":
		o.Mode = "prefix"
	default:
		o.Mode = "user"
	}
	o.Stdout = os.Stdout
	dir, err := Install(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "install:", err)
		os.Exit(1)
	}
	fmt.Printf("Installed kernelspec %s in %s\n", o.Name, dir)
}
