package embed

import "image/color"

func colorFor(i int) color.RGBA {
	return color.RGBA{uint8(40 * i), uint8(255 - 30*i), uint8(90 + 20*i), 0}
}
