package main

import (
	"errors"
	"image"
	"math"
)

const (
	// ImageSize is the width and height of the model input in pixels.
	ImageSize = 28
	// NumPixels is the number of values Predict expects: ImageSize × ImageSize.
	NumPixels = ImageSize * ImageSize
	// NumDigits is the number of output classes (digits 0 to 9).
	NumDigits = 10

	// digitBox is the side of the box the digit is scaled into, as in MNIST.
	digitBox = 20
	// inkThreshold is the minimum intensity (0..255) counted as part of the digit when
	// computing its bounding box.
	inkThreshold = 32
)

// ErrInvalidInput is wrapped by the errors Predict and PredictBatch return for pixel
// slices of the wrong length or holding non-finite values; callers can map it to a client
// error (HTTP 400).
var ErrInvalidInput = errors.New("invalid input")

// Prediction is the classification of one image.
type Prediction struct {
	// Digit is the most probable digit.
	Digit int `json:"digit"`
	// Probabilities holds the softmax probability of each digit 0..9; they sum to 1.
	Probabilities []float64 `json:"probabilities"`
}

// newPrediction applies a numerically stable softmax to the logits.
func newPrediction(logits []float32) Prediction {
	maxL := math.Inf(-1)
	for _, v := range logits {
		maxL = math.Max(maxL, float64(v))
	}
	probs := make([]float64, len(logits))
	var sum float64
	for i, v := range logits {
		probs[i] = math.Exp(float64(v) - maxL)
		sum += probs[i]
	}
	best := 0
	for i := range probs {
		probs[i] /= sum
		if probs[i] > probs[best] {
			best = i
		}
	}
	return Prediction{Digit: best, Probabilities: probs}
}

// Preprocess turns an arbitrary image into model input the way MNIST digits were
// prepared: it converts the image to grayscale (compositing transparency over white),
// inverts it when it is mostly light so that dark-on-light drawings become light-on-dark,
// stretches the contrast to 0..255, crops to the digit, scales it preserving the aspect
// ratio to fit a 20×20 box, and places it in a 28×28 frame with its centre of mass at the
// centre. An image without any ink yields all zeros. The result has NumPixels values.
func Preprocess(img image.Image) []float32 {
	gray, w, h := toGray(img)
	out := make([]float32, NumPixels)
	if w == 0 || h == 0 {
		return out
	}

	var sum float64
	for _, v := range gray {
		sum += v
	}
	if sum/float64(len(gray)) > 127 {
		for i, v := range gray {
			gray[i] = 255 - v
		}
	}
	lo, hi := gray[0], gray[0]
	for _, v := range gray { // the values are finite: plain comparisons, not math.Min/Max
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi-lo < 1 {
		return out
	}
	for i, v := range gray {
		gray[i] = (v - lo) * 255 / (hi - lo)
	}

	// Bounding box of the ink.
	x0, y0, x1, y1 := w, h, -1, -1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if gray[y*w+x] >= inkThreshold {
				x0, y0 = min(x0, x), min(y0, y)
				x1, y1 = max(x1, x), max(y1, y)
			}
		}
	}
	if x1 < 0 {
		return out
	}
	cw, ch := x1-x0+1, y1-y0+1

	// Scale the crop so its longer side is digitBox pixels.
	scale := float64(digitBox) / float64(max(cw, ch))
	sw := max(1, int(math.Round(float64(cw)*scale)))
	sh := max(1, int(math.Round(float64(ch)*scale)))
	small := resampleArea(gray, w, x0, y0, cw, ch, sw, sh)

	// Centre of mass of the scaled digit, in pixel-centre coordinates.
	var mass, mx, my float64
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			v := small[y*sw+x]
			mass += v
			mx += v * (float64(x) + 0.5)
			my += v * (float64(y) + 0.5)
		}
	}
	if mass == 0 {
		return out
	}
	offX := int(math.Round(ImageSize/2 - mx/mass))
	offY := int(math.Round(ImageSize/2 - my/mass))
	for y := 0; y < sh; y++ {
		ty := y + offY
		if ty < 0 || ty >= ImageSize {
			continue
		}
		for x := 0; x < sw; x++ {
			tx := x + offX
			if tx < 0 || tx >= ImageSize {
				continue
			}
			out[ty*ImageSize+tx] = float32(math.Min(255, math.Max(0, small[y*sw+x])))
		}
	}
	return out
}

// toGray converts img to row-major luminance values on the 0..255 scale, compositing
// translucent pixels over a white background. The common decoded types (RGBA, NRGBA, Gray,
// Paletted) are read directly, without boxing each pixel in an interface.
func toGray(img image.Image) ([]float64, int, int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	gray := make([]float64, w*h)
	var at func(x, y int) (r, g, bl, a uint32)
	switch m := img.(type) {
	case *image.RGBA:
		at = func(x, y int) (uint32, uint32, uint32, uint32) { return m.RGBAAt(x, y).RGBA() }
	case *image.NRGBA:
		at = func(x, y int) (uint32, uint32, uint32, uint32) { return m.NRGBAAt(x, y).RGBA() }
	case *image.Gray:
		at = func(x, y int) (uint32, uint32, uint32, uint32) { return m.GrayAt(x, y).RGBA() }
	case *image.Paletted:
		palette := make([][4]uint32, len(m.Palette))
		for i, c := range m.Palette {
			r, g, bl, a := c.RGBA()
			palette[i] = [4]uint32{r, g, bl, a}
		}
		at = func(x, y int) (uint32, uint32, uint32, uint32) {
			if i := int(m.ColorIndexAt(x, y)); i < len(palette) {
				p := palette[i]
				return p[0], p[1], p[2], p[3]
			}
			return 0, 0, 0, 0xffff // out-of-palette index: opaque black, as image.Paletted.At
		}
	default:
		at = func(x, y int) (uint32, uint32, uint32, uint32) { return img.At(x, y).RGBA() }
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, a := at(b.Min.X+x, b.Min.Y+y)
			// Premultiplied colour over white: c + (1-a)·white, then the luminance of
			// color.Gray16Model (JFIF coefficients) on the 16-bit values.
			white := uint32(0xffff) - a
			r, g, bl = r+white, g+white, bl+white
			lum := (19595*r + 38470*g + 7471*bl + 1<<15) >> 16
			gray[y*w+x] = float64(uint16(lum)) / 257
		}
	}
	return gray, w, h
}

// resampleArea scales the cw×ch crop at (x0, y0) of src (row stride w) to dw×dh by
// averaging the source area each destination pixel covers.
func resampleArea(src []float64, w, x0, y0, cw, ch, dw, dh int) []float64 {
	dst := make([]float64, dw*dh)
	sx := float64(cw) / float64(dw)
	sy := float64(ch) / float64(dh)
	for dy := 0; dy < dh; dy++ {
		fy0, fy1 := float64(dy)*sy, float64(dy+1)*sy
		for dx := 0; dx < dw; dx++ {
			fx0, fx1 := float64(dx)*sx, float64(dx+1)*sx
			var acc, area float64
			for y := int(fy0); y < ch && float64(y) < fy1; y++ {
				oy := math.Min(fy1, float64(y+1)) - math.Max(fy0, float64(y))
				if oy <= 0 {
					continue
				}
				for x := int(fx0); x < cw && float64(x) < fx1; x++ {
					ox := math.Min(fx1, float64(x+1)) - math.Max(fx0, float64(x))
					if ox <= 0 {
						continue
					}
					acc += src[(y0+y)*w+x0+x] * ox * oy
					area += ox * oy
				}
			}
			if area > 0 {
				dst[dy*dw+dx] = acc / area
			}
		}
	}
	return dst
}
