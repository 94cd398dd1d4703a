//go:build amd64 && !purego

package tensor

// AVX2+FMA kernels (simd_amd64.s), used when the CPU and OS support them.
// Build with -tags purego to use only the portable Go kernels.

func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)
func xgetbv0() (eax uint32)

//go:noescape
func dot4RowsAVX(w0, w1, w2, w3, x *float32, n, rows, xstride int, acc *float32)

//go:noescape
func dotAVX(a, b *float32, n int) float32

//go:noescape
func axpyAVX(a float32, x, y *float32, n int)

//go:noescape
func bf16ToF32AVX(dst *float32, src *byte, n int)

//go:noescape
func e4m3ToF32AVX(dst *float32, src *byte, n int, scale float32)

//go:noescape
func fp4GroupsAVX(dst *float32, src *byte, scales *byte, groups int, table *float32)

// hasAVX2 reports AVX2 and FMA support, including OS support for the YMM
// state (XSAVE enabled and XCR0 bits 1–2 set).
func detectAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&fma == 0 || ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xgetbv0()&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

var hasAVX2 = detectAVX2()
