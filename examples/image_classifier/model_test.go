package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

var update = flag.Bool("update", false, "rewrite the sample PNGs in testdata/")

// stroke is a polyline in canvas coordinates, drawn with a round pen.
type stroke [][2]float64

// arc returns an elliptical arc from angle a0 to a1 (degrees, clockwise on screen,
// 0° pointing right) as a polyline.
func arc(cx, cy, rx, ry, a0, a1 float64) stroke {
	var s stroke
	steps := int(math.Abs(a1-a0)) + 1
	for i := 0; i <= steps; i++ {
		a := (a0 + (a1-a0)*float64(i)/float64(steps)) * math.Pi / 180
		s = append(s, [2]float64{cx + rx*math.Cos(a), cy + ry*math.Sin(a)})
	}
	return s
}

// digitStrokes describes MNIST-like digits on a 112×112 canvas (4× the MNIST size).
var digitStrokes = map[int][]stroke{
	0: {arc(56, 56, 24, 36, 0, 360)},
	1: {{{62, 18}, {50, 94}}},
	3: {arc(54, 37, 22, 19, -160, 90), arc(54, 75, 25, 20, -90, 160)},
	4: {{{62, 16}, {28, 66}, {88, 66}}, {{70, 36}, {68, 96}}},
	7: {{{30, 20}, {82, 20}, {48, 94}}},
}

// drawDigit renders a digit with a pen of the given radius on a canvas of size w×h,
// offset by (dx, dy), in colour ink over background bg.
func drawDigit(digit, w, h int, dx, dy, radius float64, ink, bg color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	dot := func(px, py float64) {
		for y := int(py - radius); y <= int(py+radius)+1; y++ {
			for x := int(px - radius); x <= int(px+radius)+1; x++ {
				if (float64(x)-px)*(float64(x)-px)+(float64(y)-py)*(float64(y)-py) <= radius*radius {
					img.Set(x, y, ink)
				}
			}
		}
	}
	for _, s := range digitStrokes[digit] {
		for i := 0; i+1 < len(s); i++ {
			a, b := s[i], s[i+1]
			n := int(math.Hypot(b[0]-a[0], b[1]-a[1])) + 1
			for k := 0; k <= n; k++ {
				t := float64(k) / float64(n)
				dot(dx+a[0]+(b[0]-a[0])*t, dy+a[1]+(b[1]-a[1])*t)
			}
		}
	}
	return img
}

// pngRoundTrip encodes img as PNG and decodes it again, like an uploaded file.
func pngRoundTrip(t testing.TB, img image.Image) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	out, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newModel(t testing.TB) *MNIST {
	t.Helper()
	m, err := NewMNIST()
	if err != nil {
		t.Fatalf("NewMNIST: %v", err)
	}
	return m
}

func checkProbabilities(t *testing.T, p Prediction) {
	t.Helper()
	if len(p.Probabilities) != NumDigits {
		t.Fatalf("got %d probabilities, want %d", len(p.Probabilities), NumDigits)
	}
	var sum float64
	for i, v := range p.Probabilities {
		if v < 0 || v > 1 || math.IsNaN(v) {
			t.Errorf("probability[%d] = %v out of [0,1]", i, v)
		}
		sum += v
		if v > p.Probabilities[p.Digit] {
			t.Errorf("digit %d is not the arg-max (p[%d]=%v)", p.Digit, i, v)
		}
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("probabilities sum to %v, want 1", sum)
	}
}

func TestPredictDrawnDigits(t *testing.T) {
	m := newModel(t)
	variants := []struct {
		name    string
		w, h    int
		dx, dy  float64
		radius  float64
		ink, bg color.Color
	}{
		{"white on black", 112, 112, 0, 0, 6, color.White, color.Black},
		{"black on white", 112, 112, 0, 0, 6, color.Black, color.White},
		{"off-centre wide canvas", 300, 160, 150, 30, 6, color.White, color.Black},
		{"blue on transparent", 112, 112, 0, 0, 6, color.RGBA{B: 200, A: 255}, color.Transparent},
		{"small 28x28 canvas", 28, 28, 0, 0, 1.6, color.White, color.Black},
	}
	for _, digit := range []int{0, 1, 3, 4, 7} {
		for _, v := range variants {
			t.Run(fmt.Sprintf("%d/%s", digit, v.name), func(t *testing.T) {
				img := drawDigit(digit, v.w, v.h, v.dx, v.dy, v.radius, v.ink, v.bg)
				if v.w == 28 {
					img = shrink(drawDigit(digit, 112, 112, 0, 0, 6, v.ink, v.bg), 4)
				}
				p, err := m.Predict(context.Background(), Preprocess(pngRoundTrip(t, img)))
				if err != nil {
					t.Fatalf("Predict: %v", err)
				}
				checkProbabilities(t, p)
				if p.Digit != digit {
					t.Errorf("predicted %d (p=%.3f), want %d (p=%.3f)", p.Digit, p.Probabilities[p.Digit], digit, p.Probabilities[digit])
				}
			})
		}
	}
}

// shrink downsamples img by an integer factor with a box filter.
func shrink(img *image.RGBA, f int) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()/f, b.Dy()/f))
	for y := 0; y < b.Dy()/f; y++ {
		for x := 0; x < b.Dx()/f; x++ {
			var r, g, bl, a uint32
			for yy := 0; yy < f; yy++ {
				for xx := 0; xx < f; xx++ {
					c := img.RGBAAt(x*f+xx, y*f+yy)
					r, g, bl, a = r+uint32(c.R), g+uint32(c.G), bl+uint32(c.B), a+uint32(c.A)
				}
			}
			n := uint32(f * f)
			out.SetRGBA(x, y, color.RGBA{uint8(r / n), uint8(g / n), uint8(bl / n), uint8(a / n)})
		}
	}
	return out
}

func TestPreprocess(t *testing.T) {
	t.Run("blank image gives zeros", func(t *testing.T) {
		for _, bg := range []color.Color{color.Black, color.White} {
			img := image.NewGray(image.Rect(0, 0, 50, 40))
			draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
			px := Preprocess(img)
			if len(px) != NumPixels {
				t.Fatalf("len = %d, want %d", len(px), NumPixels)
			}
			for i, v := range px {
				if v != 0 {
					t.Fatalf("pixel %d = %v, want 0", i, v)
				}
			}
		}
	})
	t.Run("empty image", func(t *testing.T) {
		if px := Preprocess(image.NewGray(image.Rect(0, 0, 0, 0))); len(px) != NumPixels {
			t.Fatalf("len = %d, want %d", len(px), NumPixels)
		}
	})
	t.Run("fits 20x20 box, centred by mass, full range", func(t *testing.T) {
		px := Preprocess(drawDigit(7, 300, 160, 150, 30, 6, color.White, color.Black))
		x0, y0, x1, y1 := ImageSize, ImageSize, -1, -1
		var mass, mx, my float64
		var maxV float32
		for y := 0; y < ImageSize; y++ {
			for x := 0; x < ImageSize; x++ {
				v := px[y*ImageSize+x]
				if v < 0 || v > 255 {
					t.Fatalf("pixel (%d,%d) = %v outside 0..255", x, y, v)
				}
				if v > 0 {
					x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
				}
				maxV = max(maxV, v)
				mass += float64(v)
				mx += float64(v) * (float64(x) + 0.5)
				my += float64(v) * (float64(y) + 0.5)
			}
		}
		if w, h := x1-x0+1, y1-y0+1; max(w, h) > digitBox || max(w, h) < digitBox-1 {
			t.Errorf("digit box %d×%d, want longer side %d", w, h, digitBox)
		}
		if cx, cy := mx/mass, my/mass; math.Abs(cx-14) > 0.5 || math.Abs(cy-14) > 0.5 {
			t.Errorf("centre of mass (%.2f, %.2f), want (14, 14)", cx, cy)
		}
		if maxV < 250 {
			t.Errorf("max intensity %v, want ~255", maxV)
		}
	})
	t.Run("inversion makes dark-on-light equal light-on-dark", func(t *testing.T) {
		a := Preprocess(drawDigit(4, 112, 112, 0, 0, 6, color.White, color.Black))
		b := Preprocess(drawDigit(4, 112, 112, 0, 0, 6, color.Black, color.White))
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > 1 {
				t.Fatalf("pixel %d differs: %v vs %v", i, a[i], b[i])
			}
		}
	})
}

func TestPredictInvalidInput(t *testing.T) {
	m := newModel(t)
	nan := make([]float32, NumPixels)
	nan[100] = float32(math.NaN())
	inf := make([]float32, NumPixels)
	inf[0] = float32(math.Inf(-1))
	tests := []struct {
		name   string
		pixels []float32
	}{
		{"nil", nil},
		{"too short", make([]float32, NumPixels-1)},
		{"too long", make([]float32, NumPixels+1)},
		{"NaN", nan},
		{"Inf", inf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := m.Predict(context.Background(), tt.pixels); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("Predict err = %v, want ErrInvalidInput", err)
			}
			good := make([]float32, NumPixels)
			if _, err := m.PredictBatch(context.Background(), [][]float32{good, tt.pixels}); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("PredictBatch err = %v, want ErrInvalidInput", err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Predict(ctx, make([]float32, NumPixels)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Predict err = %v, want context.Canceled", err)
	}
}

func TestPredictBatchMatchesPredict(t *testing.T) {
	m := newModel(t)
	var batch [][]float32
	for _, d := range []int{7, 0, 1} {
		batch = append(batch, Preprocess(drawDigit(d, 112, 112, 0, 0, 6, color.White, color.Black)))
	}
	got, err := m.PredictBatch(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(batch) {
		t.Fatalf("got %d predictions, want %d", len(got), len(batch))
	}
	// A second, independent instance must agree image by image.
	other := newModel(t)
	for i, px := range batch {
		want, err := other.Predict(context.Background(), px)
		if err != nil {
			t.Fatal(err)
		}
		if got[i].Digit != want.Digit || math.Abs(got[i].Probabilities[want.Digit]-want.Probabilities[want.Digit]) > 1e-9 {
			t.Errorf("image %d: batch %+v, single %+v", i, got[i], want)
		}
	}
	if got[0].Digit != 7 || got[1].Digit != 0 || got[2].Digit != 1 {
		t.Errorf("batch digits %d %d %d, want 7 0 1", got[0].Digit, got[1].Digit, got[2].Digit)
	}
	empty, err := m.PredictBatch(context.Background(), nil)
	if err != nil || len(empty) != 0 {
		t.Errorf("empty batch = %v, %v", empty, err)
	}
}

// sampleDigits are the digits written to testdata/ for the README's curl examples.
var sampleDigits = []int{0, 3, 7}

func samplePath(d int) string { return filepath.Join("testdata", fmt.Sprintf("digit_%d.png", d)) }

// TestSamples checks the committed sample PNGs; with -update it regenerates them first
// (black ink on white, like a drawing from a web page).
func TestSamples(t *testing.T) {
	m := newModel(t)
	for _, d := range sampleDigits {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			if *update {
				var buf bytes.Buffer
				if err := png.Encode(&buf, drawDigit(d, 112, 112, 0, 0, 6, color.Black, color.White)); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(samplePath(d), buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := os.Open(samplePath(d))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, _, err := image.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := m.Predict(context.Background(), Preprocess(img))
			if err != nil {
				t.Fatal(err)
			}
			if p.Digit != d {
				t.Errorf("%s predicted as %d", samplePath(d), p.Digit)
			}
		})
	}
}

func BenchmarkPredict(b *testing.B) {
	m := newModel(b)
	px := Preprocess(drawDigit(7, 112, 112, 0, 0, 6, color.White, color.Black))
	ctx := context.Background()
	for b.Loop() {
		if _, err := m.Predict(ctx, px); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPreprocess(b *testing.B) {
	img := drawDigit(7, 112, 112, 0, 0, 6, color.Black, color.White)
	for b.Loop() {
		Preprocess(img)
	}
}

func ExampleMNIST_Predict() {
	f, err := os.Open("testdata/digit_7.png")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		panic(err)
	}
	m, err := NewMNIST()
	if err != nil {
		panic(err)
	}
	p, err := m.Predict(context.Background(), Preprocess(img))
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Digit)
	// Output: 7
}

// TestReferenceVectors runs the model zoo's own test cases (real MNIST images with the
// logits the reference runtime produced) and compares logits and arg-max.
func TestReferenceVectors(t *testing.T) {
	m := newModel(t)
	dirs, err := filepath.Glob(filepath.Join("testdata", "reference", "test_data_set_*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no reference test sets found (err %v)", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := readTensor(t, filepath.Join(dir, "input_0.pb"))
			want := readTensor(t, filepath.Join(dir, "output_0.pb"))
			if len(in) != NumPixels || len(want) != NumDigits {
				t.Fatalf("reference shapes: input %d, output %d", len(in), len(want))
			}
			got, err := m.Predict(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			wantP := newPrediction(want)
			if got.Digit != wantP.Digit {
				t.Errorf("digit %d, reference %d", got.Digit, wantP.Digit)
			}
			for i := range got.Probabilities {
				if math.Abs(got.Probabilities[i]-wantP.Probabilities[i]) > 1e-4 {
					t.Errorf("p[%d] = %.6f, reference %.6f", i, got.Probabilities[i], wantP.Probabilities[i])
				}
			}
			t.Logf("reference image classified as %d (p=%.4f)", got.Digit, got.Probabilities[got.Digit])
		})
	}
}

// readTensor decodes a serialised ONNX TensorProto holding float32 values (dims, then
// float_data or raw_data); it needs no ONNX library.
func readTensor(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("%s: %v", path, protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			t.Fatalf("%s: %v", path, protowire.ParseError(m))
		}
		v := b[:m]
		b = b[m:]
		switch {
		case num == 2 && typ == protowire.VarintType: // data_type
			if dt, _ := protowire.ConsumeVarint(v); dt != 1 {
				t.Fatalf("%s: data type %d, want 1 (float)", path, dt)
			}
		case num == 4 && typ == protowire.BytesType: // packed float_data
			raw, _ := protowire.ConsumeBytes(v)
			out = append(out, floats(raw)...)
		case num == 4 && typ == protowire.Fixed32Type:
			u, _ := protowire.ConsumeFixed32(v)
			out = append(out, math.Float32frombits(u))
		case num == 9 && typ == protowire.BytesType: // raw_data, little-endian
			raw, _ := protowire.ConsumeBytes(v)
			out = append(out, floats(raw)...)
		}
	}
	return out
}

func floats(raw []byte) []float32 {
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// TestPreprocessRealDigits renders the reference MNIST images as PNG-like pictures (scaled
// up, optionally dark on light) and checks that Preprocess recovers their classification.
func TestPreprocessRealDigits(t *testing.T) {
	m := newModel(t)
	dirs, _ := filepath.Glob(filepath.Join("testdata", "reference", "test_data_set_*"))
	for _, dir := range dirs {
		in := readTensor(t, filepath.Join(dir, "input_0.pb"))
		want := newPrediction(readTensor(t, filepath.Join(dir, "output_0.pb"))).Digit
		for _, invert := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/invert=%v", filepath.Base(dir), invert), func(t *testing.T) {
				const f = 3
				img := image.NewGray(image.Rect(0, 0, ImageSize*f, ImageSize*f))
				for y := 0; y < ImageSize*f; y++ {
					for x := 0; x < ImageSize*f; x++ {
						v := uint8(math.Min(255, math.Max(0, float64(in[(y/f)*ImageSize+x/f]))))
						if invert {
							v = 255 - v
						}
						img.SetGray(x, y, color.Gray{Y: v})
					}
				}
				p, err := m.Predict(context.Background(), Preprocess(pngRoundTrip(t, img)))
				if err != nil {
					t.Fatal(err)
				}
				if p.Digit != want {
					t.Errorf("predicted %d, want %d", p.Digit, want)
				}
			})
		}
	}
}

// TestToGrayFastPaths checks that the direct pixel readers give exactly what the generic
// image.Image path gives, for every image type they handle.
func TestToGrayFastPaths(t *testing.T) {
	src := drawDigit(3, 40, 30, -30, -40, 5, color.RGBA{R: 200, G: 40, B: 90, A: 200}, color.Transparent)
	nrgba := image.NewNRGBA(src.Bounds())
	gray := image.NewGray(src.Bounds())
	pal := image.NewPaletted(src.Bounds(), color.Palette{color.Black, color.White, color.RGBA{R: 200, A: 255}})
	for _, dst := range []draw.Image{nrgba, gray, pal} {
		draw.Draw(dst, dst.Bounds(), src, image.Point{}, draw.Src)
	}
	for _, img := range []image.Image{src, nrgba, gray, pal, src.SubImage(image.Rect(5, 5, 30, 25))} {
		t.Run(fmt.Sprintf("%T", img), func(t *testing.T) {
			got, w, h := toGray(img)
			want, _, _ := toGray(opaqueWrapper{img})
			if len(got) != w*h || len(got) != len(want) {
				t.Fatalf("len %d, %d×%d, want %d", len(got), w, h, len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("pixel %d: %v, generic path %v", i, got[i], want[i])
				}
			}
		})
	}
}

// opaqueWrapper hides the concrete image type, forcing toGray's generic path.
type opaqueWrapper struct{ image.Image }
