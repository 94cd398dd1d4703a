package kernel

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"time"
)

// WatchParent calls onDeath once when the process that started the kernel
// goes away: the pid in JPY_PARENT_PID (set by jupyter_client) stops
// existing, or the parent pid changes (we were re-parented to init). That
// keeps a killed notebook server from leaving kernels behind.
func WatchParent(ctx context.Context, interval time.Duration, onDeath func(reason string)) {
	ppid := os.Getppid()
	jpy := 0
	if s := os.Getenv("JPY_PARENT_PID"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 1 {
			jpy = n
		}
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if p := os.Getppid(); p != ppid {
				onDeath("parent process " + strconv.Itoa(ppid) + " exited (now " + strconv.Itoa(p) + ")")
				return
			}
			if jpy != 0 {
				if err := syscall.Kill(jpy, 0); err == syscall.ESRCH {
					onDeath("JPY_PARENT_PID " + strconv.Itoa(jpy) + " no longer exists")
					return
				}
			}
		}
	}()
}
