package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is a safetensors element type, spelled as in the file header.
type DType string

// The element types this package understands. F8_E4M3 is float8_e4m3fn (no
// infinities) and F8_E8M0 is the UE8M0 power-of-two scale format used by the
// DeepSeek FP8/FP4 checkpoints (design §3.3).
const (
	BOOL   DType = "BOOL"
	U8     DType = "U8"
	I8     DType = "I8"
	I16    DType = "I16"
	U16    DType = "U16"
	I32    DType = "I32"
	U32    DType = "U32"
	I64    DType = "I64"
	U64    DType = "U64"
	F16    DType = "F16"
	BF16   DType = "BF16"
	F32    DType = "F32"
	F64    DType = "F64"
	F8E4M3 DType = "F8_E4M3"
	F8E5M2 DType = "F8_E5M2"
	F8E8M0 DType = "F8_E8M0"
)

// Size is the number of bytes per element, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case BOOL, U8, I8, F8E4M3, F8E5M2, F8E8M0:
		return 1
	case I16, U16, F16, BF16:
		return 2
	case I32, U32, F32:
		return 4
	case I64, U64, F64:
		return 8
	}
	return 0
}

// Valid reports whether d is a type this package can size.
func (d DType) Valid() bool { return d.Size() != 0 }

// BF16ToF32 widens a bfloat16 bit pattern; exact.
func BF16ToF32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// F32ToBF16 rounds to the nearest bfloat16, ties to even; NaN stays NaN.
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 { // NaN: keep it quiet and non-zero mantissa
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// F16ToF32 widens an IEEE half bit pattern; exact, including subnormals.
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		// Subnormal or zero: value = man · 2^-24.
		v := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// E4M3ToF32 decodes float8_e4m3fn: 1 sign, 4 exponent bits (bias 7), 3
// mantissa bits, no infinities, S.1111.111 is NaN, subnormals m/8·2^-6.
func E4M3ToF32(b byte) float32 { return e4m3Table[b] }

// E8M0ToF32 decodes a UE8M0 scale byte e to 2^(e−127); 255 is NaN.
func E8M0ToF32(b byte) float32 { return e8m0Table[b] }

var e4m3Table, e8m0Table [256]float32

func init() {
	for i := range 256 {
		e4m3Table[i] = e4m3Slow(byte(i))
		if i == 255 {
			e8m0Table[i] = float32(math.NaN())
		} else {
			e8m0Table[i] = float32(math.Ldexp(1, i-127))
		}
	}
}

// e4m3Slow is the obviously-right definition the lookup table is built from.
func e4m3Slow(b byte) float32 {
	exp := int(b>>3) & 0xf
	man := int(b) & 7
	var v float64
	switch {
	case exp == 0xf && man == 7:
		return float32(math.NaN())
	case exp == 0:
		v = float64(man) / 8 * math.Ldexp(1, -6)
	default:
		v = (1 + float64(man)/8) * math.Ldexp(1, exp-7)
	}
	if b&0x80 != 0 {
		v = -v
	}
	return float32(v)
}

// decodeFloat32 converts raw little-endian elements of type d to float32.
func decodeFloat32(d DType, raw []byte, n int) ([]float32, error) {
	out := make([]float32, n)
	switch d {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = BF16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case F16:
		for i := range out {
			out[i] = F16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	case F8E4M3:
		for i := range out {
			out[i] = e4m3Table[raw[i]]
		}
	case F8E8M0:
		for i := range out {
			out[i] = e8m0Table[raw[i]]
		}
	case F8E5M2: // the top byte of an IEEE half
		for i := range out {
			out[i] = F16ToF32(uint16(raw[i]) << 8)
		}
	case I8:
		for i := range out {
			out[i] = float32(int8(raw[i]))
		}
	case U8, BOOL:
		for i := range out {
			out[i] = float32(raw[i])
		}
	case U16:
		for i := range out {
			out[i] = float32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case U32:
		for i := range out {
			out[i] = float32(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case U64:
		for i := range out {
			out[i] = float32(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	case I16:
		for i := range out {
			out[i] = float32(int16(binary.LittleEndian.Uint16(raw[2*i:])))
		}
	case I32:
		for i := range out {
			out[i] = float32(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	case I64:
		for i := range out {
			out[i] = float32(int64(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	default:
		return nil, fmt.Errorf("dtype %s cannot be decoded to float32", d)
	}
	return out, nil
}

// decodeInt64 converts raw little-endian integer elements of type d to int64.
func decodeInt64(d DType, raw []byte, n int) ([]int64, error) {
	out := make([]int64, n)
	switch d {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	case U64:
		for i := range out {
			u := binary.LittleEndian.Uint64(raw[8*i:])
			if u > math.MaxInt64 {
				return nil, fmt.Errorf("element %d = %d overflows int64", i, u)
			}
			out[i] = int64(u)
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	case U32:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(raw[2*i:])))
		}
	case U16:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(raw[i]))
		}
	case U8, BOOL:
		for i := range out {
			out[i] = int64(raw[i])
		}
	default:
		return nil, fmt.Errorf("dtype %s is not an integer type", d)
	}
	return out, nil
}
