package plot

import "image/color"

// colorRGBA builds a colour from 16-bit channels (as color.Color.RGBA
// returns them) and an 8-bit alpha, premultiplying as image/color expects.
func colorRGBA(r, g, b uint32, a uint8) color.Color {
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}
