package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
)

// Logo draws the kernel's logo, a steering wheel in Go blue, as a PNG of
// size×size pixels. It is drawn from geometry (4×4 supersampled) rather than
// shipped as a file so that every size is sharp.
func Logo(size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	blue := color.NRGBA{0x00, 0xAD, 0xD8, 0xFF}
	const ss = 4
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			hits := 0
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					// Unit coordinates, centre (0,0), radius 1.
					u := (float64(x)+(float64(sx)+0.5)/ss)/float64(size)*2 - 1
					v := (float64(y)+(float64(sy)+0.5)/ss)/float64(size)*2 - 1
					if wheel(u, v) {
						hits++
					}
				}
			}
			if hits > 0 {
				c := blue
				c.A = uint8(255 * hits / (ss * ss))
				img.SetNRGBA(x, y, c)
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// wheel reports whether (u,v) is on the wheel: rim, hub and three spokes.
func wheel(u, v float64) bool {
	r := math.Hypot(u, v)
	if r > 0.72 && r < 0.94 { // rim
		return true
	}
	if r < 0.22 { // hub
		return true
	}
	if r > 0.8 {
		return false
	}
	for _, a := range []float64{math.Pi / 2, math.Pi/2 + 2*math.Pi/3, math.Pi/2 + 4*math.Pi/3} {
		// Distance from the ray at angle a (y grows downwards: spokes at
		// the bottom and the two upper sides).
		dx, dy := math.Cos(a), math.Sin(a)
		along := u*dx + v*dy
		across := math.Abs(-u*dy + v*dx)
		if along > 0 && across < 0.09 {
			return true
		}
	}
	return false
}

var _ image.Image = (*image.NRGBA)(nil)
