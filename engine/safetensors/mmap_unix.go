//go:build unix

package safetensors

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps path read-only. The mapping outlives the file descriptor, so
// the file is closed at once; the returned func unmaps.
func mapFile(path string) ([]byte, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	size := st.Size()
	if size == 0 {
		// mmap of length 0 fails; an empty file is reported as truncated later.
		return []byte{}, func() error { return nil }, nil
	}
	if size != int64(int(size)) {
		return nil, nil, fmt.Errorf("safetensors: %s: file of %d bytes is too large to map", path, size)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: mmap %s: %w", path, err)
	}
	return b, func() error {
		if err := syscall.Munmap(b); err != nil {
			return fmt.Errorf("safetensors: munmap %s: %w", path, err)
		}
		return nil
	}, nil
}
