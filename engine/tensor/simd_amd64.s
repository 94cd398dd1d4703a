//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA kernels. Go's operand order is the reverse of Intel's: the
// destination is last. All kernels process whole vectors of 8 floats; the Go
// callers handle remainders.

// func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv0() (eax uint32)
TEXT ·xgetbv0(SB), NOSPLIT, $0-4
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	RET

// func dot4RowsAVX(w0, w1, w2, w3, x *float32, n, rows, xstride int, acc *float32)
// For each of rows input rows (x, x+xstride, …) writes the 4 dot products
// with w0..w3 over n elements (n a multiple of 8) to acc[4r:4r+4].
TEXT ·dot4RowsAVX(SB), NOSPLIT, $0-72
	MOVQ w0+0(FP), AX
	MOVQ w1+8(FP), BX
	MOVQ w2+16(FP), CX
	MOVQ w3+24(FP), DX
	MOVQ x+32(FP), SI
	MOVQ n+40(FP), DI
	MOVQ rows+48(FP), R11
	MOVQ xstride+56(FP), R12
	MOVQ acc+64(FP), R8
	SHLQ $2, DI
	SHLQ $2, R12
	MOVQ DI, R10
	ANDQ $-64, R10
	TESTQ R11, R11
	JLE  d4end

d4row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ   R9, R9

d4loop16:
	CMPQ        R9, R10
	JGE         d4tail8
	VMOVUPS     (SI)(R9*1), Y8
	VMOVUPS     32(SI)(R9*1), Y9
	VFMADD231PS (AX)(R9*1), Y8, Y0
	VFMADD231PS 32(AX)(R9*1), Y9, Y4
	VFMADD231PS (BX)(R9*1), Y8, Y1
	VFMADD231PS 32(BX)(R9*1), Y9, Y5
	VFMADD231PS (CX)(R9*1), Y8, Y2
	VFMADD231PS 32(CX)(R9*1), Y9, Y6
	VFMADD231PS (DX)(R9*1), Y8, Y3
	VFMADD231PS 32(DX)(R9*1), Y9, Y7
	ADDQ        $64, R9
	JMP         d4loop16

d4tail8:
	CMPQ        R9, DI
	JGE         d4reduce
	VMOVUPS     (SI)(R9*1), Y8
	VFMADD231PS (AX)(R9*1), Y8, Y0
	VFMADD231PS (BX)(R9*1), Y8, Y1
	VFMADD231PS (CX)(R9*1), Y8, Y2
	VFMADD231PS (DX)(R9*1), Y8, Y3

d4reduce:
	VADDPS       Y4, Y0, Y0
	VADDPS       Y5, Y1, Y1
	VADDPS       Y6, Y2, Y2
	VADDPS       Y7, Y3, Y3
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (R8)
	ADDQ         $16, R8
	ADDQ         R12, SI
	DECQ         R11
	JNZ          d4row

d4end:
	VZEROUPPER
	RET

// func dotAVX(a, b *float32, n int) float32   (n a multiple of 8)
TEXT ·dotAVX(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), AX
	MOVQ   b+8(FP), BX
	MOVQ   n+16(FP), DI
	SHLQ   $2, DI
	MOVQ   DI, R10
	ANDQ   $-128, R10
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   R9, R9

dloop32:
	CMPQ        R9, R10
	JGE         dloop8
	VMOVUPS     (AX)(R9*1), Y4
	VMOVUPS     32(AX)(R9*1), Y5
	VMOVUPS     64(AX)(R9*1), Y6
	VMOVUPS     96(AX)(R9*1), Y7
	VFMADD231PS (BX)(R9*1), Y4, Y0
	VFMADD231PS 32(BX)(R9*1), Y5, Y1
	VFMADD231PS 64(BX)(R9*1), Y6, Y2
	VFMADD231PS 96(BX)(R9*1), Y7, Y3
	ADDQ        $128, R9
	JMP         dloop32

dloop8:
	CMPQ        R9, DI
	JGE         dreduce
	VMOVUPS     (AX)(R9*1), Y4
	VFMADD231PS (BX)(R9*1), Y4, Y0
	ADDQ        $32, R9
	JMP         dloop8

dreduce:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX(a float32, x, y *float32, n int)   (n a multiple of 8)
TEXT ·axpyAVX(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX
	SHRQ         $3, CX
	JZ           axdone

axloop:
	VMOVUPS     (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         axloop

axdone:
	VZEROUPPER
	RET

// func bf16ToF32AVX(dst *float32, src *byte, n int)   (n a multiple of 8)
TEXT ·bf16ToF32AVX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   bfdone

bfloop:
	VPMOVZXWD (SI), Y0
	VPSLLD    $16, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       bfloop

bfdone:
	VZEROUPPER
	RET

// func e4m3ToF32AVX(dst *float32, src *byte, n int, scale float32)   (n a multiple of 8)
// Normal codes: the 7 magnitude bits shifted to bit 20 plus (127−7)<<23 are
// the float32 bits of the value. Subnormal codes (exponent 0): mantissa·2^-9,
// computed by conversion so that no float32 denormal (slow) is formed.
// Code 0x7f/0xff is NaN.
TEXT ·e4m3ToF32AVX(SB), NOSPLIT, $0-28
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y15
	MOVL         $0x3c000000, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x7f, AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	MOVL         $0x80, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         $0x7fc00000, AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	MOVL         $0x3b000000, AX
	VMOVD        AX, X10
	VPBROADCASTD X10, Y10
	MOVL         $7, AX
	VMOVD        AX, X9
	VPBROADCASTD X9, Y9
	SHRQ         $3, CX
	JZ           e4done

e4loop:
	VPMOVZXBD (SI), Y0
	VPAND     Y13, Y0, Y1
	VPAND     Y12, Y0, Y2
	VPCMPEQD  Y13, Y1, Y3
	VPSLLD    $20, Y1, Y4
	VPADDD    Y14, Y4, Y4
	VCVTDQ2PS Y1, Y5
	VMULPS    Y10, Y5, Y5
	VPCMPGTD  Y9, Y1, Y6
	VBLENDVPS Y6, Y4, Y5, Y4
	VPSLLD    $24, Y2, Y2
	VPOR      Y2, Y4, Y4
	VMULPS    Y15, Y4, Y4
	VBLENDVPS Y3, Y11, Y4, Y4
	VMOVUPS   Y4, (DI)
	ADDQ      $8, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       e4loop

e4done:
	VZEROUPPER
	RET

// func fp4GroupsAVX(dst *float32, src *byte, scales *byte, groups int, table *float32)
// Decodes groups of 32 FP4 values (16 bytes, low nibble first) each scaled by
// table[scales[g]] (the E8M0 decode table).
TEXT ·fp4GroupsAVX(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         scales+16(FP), R8
	MOVQ         groups+24(FP), CX
	MOVQ         table+32(FP), R9
	VMOVUPS      ·fp4Values(SB), Y14
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X13
	VPBROADCASTD X13, X13
	MOVL         $0x80000000, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	TESTQ        CX, CX
	JLE          f4done

f4group:
	MOVBLZX      (R8), AX
	VBROADCASTSS (R9)(AX*4), Y15
	MOVQ         $2, R10

f4half:
	VMOVQ      (SI), X0
	VPAND      X13, X0, X1
	VPSRLW     $4, X0, X2
	VPAND      X13, X2, X2
	VPUNPCKLBW X2, X1, X3
	VPMOVZXBD  X3, Y4
	VPSRLDQ    $8, X3, X5
	VPMOVZXBD  X5, Y5
	VPERMPS    Y14, Y4, Y6
	VPSLLD     $28, Y4, Y7
	VPAND      Y12, Y7, Y7
	VPOR       Y7, Y6, Y6
	VMULPS     Y15, Y6, Y6
	VMOVUPS    Y6, (DI)
	VPERMPS    Y14, Y5, Y8
	VPSLLD     $28, Y5, Y9
	VPAND      Y12, Y9, Y9
	VPOR       Y9, Y8, Y8
	VMULPS     Y15, Y8, Y8
	VMOVUPS    Y8, 32(DI)
	ADDQ       $8, SI
	ADDQ       $64, DI
	DECQ       R10
	JNZ        f4half
	INCQ       R8
	DECQ       CX
	JNZ        f4group

f4done:
	VZEROUPPER
	RET
