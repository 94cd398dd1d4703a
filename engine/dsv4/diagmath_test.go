package dsv4

import "math"

var (
	mathFrexp = math.Frexp
	mathLdexp = math.Ldexp
	mathFloor = math.Floor
	mathAbs   = math.Abs
)
