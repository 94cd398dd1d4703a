//go:build !unix

package safetensors

import (
	"fmt"
	"os"
)

// mapFile reads the whole file where mmap is unavailable.
func mapFile(path string) ([]byte, func() error, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	return b, func() error { return nil }, nil
}
