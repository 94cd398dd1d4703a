//go:build !amd64 || purego

package tensor

// Portable build: no SIMD kernels; the stubs are never called.

const hasAVX2 = false

func dot4RowsAVX(w0, w1, w2, w3, x *float32, n, rows, xstride int, acc *float32) {
	panic("unreachable")
}
func dotAVX(a, b *float32, n int) float32                        { panic("unreachable") }
func axpyAVX(a float32, x, y *float32, n int)                    { panic("unreachable") }
func bf16ToF32AVX(dst *float32, src *byte, n int)                { panic("unreachable") }
func e4m3ToF32AVX(dst *float32, src *byte, n int, scale float32) { panic("unreachable") }
func fp4GroupsAVX(dst *float32, src *byte, scales *byte, groups int, table *float32) {
	panic("unreachable")
}
