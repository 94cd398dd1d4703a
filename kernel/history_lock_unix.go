//go:build unix

package kernel

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f, so that kernels starting
// together read the history file and claim their session numbers one at a
// time.
func lockFile(f *os.File) (unlock func(), err error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil
}
