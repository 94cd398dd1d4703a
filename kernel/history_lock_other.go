//go:build !unix

package kernel

import "os"

// lockFile is a no-op where flock is missing: kernels started at the same
// moment may then share a session number.
func lockFile(*os.File) (func(), error) { return func() {}, nil }
