package augment

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnclr/nnclr/internal/testpy"
)

// tfReference writes the arrays of spec to raw files, runs testdata/tf_reference.py and returns
// its float32 output. Values of spec that are slices of uint8, float32 or int32 become files.
func tfReference(t *testing.T, spec map[string]any, wantLen int) []float32 {
	t.Helper()
	return tfReferenceJobs(t, []map[string]any{spec}, []int{wantLen})[0]
}

// tfReferenceJobs is tfReference for several specs in one Python process (TensorFlow's start-up
// takes seconds); it returns one output per spec.
func tfReferenceJobs(t *testing.T, specs []map[string]any, wantLens []int) [][]float32 {
	t.Helper()
	dir := t.TempDir()
	var jobs []map[string]any
	for j, spec := range specs {
		js := map[string]any{}
		for k, v := range spec {
			var data []byte
			switch a := v.(type) {
			case []uint8:
				data = a
			case []float32, []int32:
				var err error
				data, err = binary.Append(nil, binary.LittleEndian, a)
				if err != nil {
					t.Fatal(err)
				}
			default:
				js[k] = v
				continue
			}
			p := filepath.Join(dir, fmt.Sprintf("%d-%s.raw", j, k))
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			js[k] = p
		}
		js["out"] = filepath.Join(dir, fmt.Sprintf("%d-out.raw", j))
		jobs = append(jobs, js)
	}
	b, err := json.Marshal(map[string]any{"jobs": jobs})
	if err != nil {
		t.Fatal(err)
	}
	specPath := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(specPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	testpy.Run(t, "testdata/tf_reference.py", specPath)
	outs := make([][]float32, len(jobs))
	for j, js := range jobs {
		raw, err := os.ReadFile(js["out"].(string))
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, len(raw)/4)
		if _, err := binary.Decode(raw, binary.LittleEndian, out); err != nil {
			t.Fatal(err)
		}
		if len(out) != wantLens[j] {
			t.Fatalf("reference job %d (%v) returned %d values, want %d", j, js["mode"], len(out), wantLens[j])
		}
		outs[j] = out
	}
	return outs
}

func randomImages(seed uint64, n, h, w, c int) Images {
	r := rand.New(rand.NewPCG(seed, 7))
	pix := make([]uint8, n*h*w*c)
	for i := range pix {
		pix[i] = uint8(r.IntN(256))
	}
	return Images{Pix: pix, N: n, H: h, W: w, C: c}
}

// compare fails the test when got and want differ by more than tol anywhere.
func compare(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, reference %d", what, len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if worst > tol || math.IsNaN(worst) {
		t.Fatalf("%s: max |Go − TF| = %g at %d (Go %g, TF %g), tolerance %g", what, worst, at, got[at], want[at], tol)
	}
	t.Logf("%s: max |Go − TF| = %g over %d values", what, worst, len(got))
}

// TestCropAndResizeMatchesTF compares CropAndResize with tf.image.crop_and_resize on fixed boxes:
// full image, boxes touching each border, tiny and zero-extent boxes, a box reaching outside the
// image (extrapolation), a flipped (y1 > y2) box, 1-pixel and non-square outputs, for raw and
// ÷255-scaled values and 1- and 3-channel images.
func TestCropAndResizeMatchesTF(t *testing.T) {
	boxes := []Box{
		FullBox,
		{0, 0, 0.5, 0.5}, {0.5, 0.5, 1, 1}, {0, 0.3, 1, 0.7}, {0.25, 0, 0.75, 1},
		{0.4, 0.4, 0.41, 0.43}, {0.5, 0.5, 0.5, 0.5}, {0, 0, 0, 0}, {1, 1, 1, 1},
		{0.123, 0.456, 0.789, 0.987}, {0.1, 0.2, 0.1 + 0.35, 0.2 + 0.61},
		{-0.1, 0.2, 0.9, 1.15}, {0.8, 0.9, 0.2, 0.1},
	}
	for _, tc := range []struct {
		name           string
		h, w, c        int
		oh, ow         int
		scale          float32
		tolerance      float64
		seed           uint64
		imagesPerBoxes int
	}{
		{"96x96x3 to 96x96 scaled", 96, 96, 3, 96, 96, Rescale, 0, 1, 2},
		{"96x96x3 to 32x48 raw", 96, 96, 3, 32, 48, 1, 0, 2, 2},
		{"28x28x1 to 96x96 scaled", 28, 28, 1, 96, 96, Rescale, 0, 3, 1},
		{"7x5x3 to 1x1 raw", 7, 5, 3, 1, 1, 1, 0, 4, 1},
		{"1x1x3 to 4x4 raw", 1, 1, 3, 4, 4, 1, 0, 5, 1},
		{"9x9x1 to 1x9 scaled", 9, 9, 1, 1, 9, Rescale, 0, 6, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := randomImages(tc.seed, tc.imagesPerBoxes, tc.h, tc.w, tc.c)
			var flat []float32
			var idx []int32
			for i := 0; i < im.N; i++ {
				for _, b := range boxes {
					flat = append(flat, b.Y1, b.X1, b.Y2, b.X2)
					idx = append(idx, int32(i))
				}
			}
			per := tc.oh * tc.ow * tc.c
			want := tfReference(t, map[string]any{
				"mode": "crop", "shape": []int{im.N, im.H, im.W, im.C}, "images": im.Pix,
				"num_boxes": len(idx), "boxes": flat, "box_indices": idx,
				"size": []int{tc.oh, tc.ow}, "scale": float64(tc.scale),
			}, len(idx)*per)
			got := make([]float32, len(idx)*per)
			in := im.H * im.W * im.C
			for j, i := range idx {
				b := boxes[j%len(boxes)]
				if err := CropAndResize(got[j*per:(j+1)*per], im.Pix[int(i)*in:(int(i)+1)*in], im.H, im.W, im.C, b, tc.oh, tc.ow, tc.scale); err != nil {
					t.Fatal(err)
				}
			}
			compare(t, tc.name, got, want, tc.tolerance)
		})
	}
}

// TestPipelineMatchesKeras runs the whole contrastive and classification augmenters in Go and
// replays the same draws through the Keras layers (Rescaling, flip, crop_and_resize,
// RandomBrightness's add-and-clip).
func TestPipelineMatchesKeras(t *testing.T) {
	for _, cfg := range []Config{ContrastiveConfig(96, 96), ClassificationConfig(64, 80)} {
		im := randomImages(11, 24, 96, 96, 3)
		a, err := New(cfg, 42)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, a.OutputLen(im.N, im.C))
		if err := a.Apply(got, im, 1, 5); err != nil {
			t.Fatal(err)
		}
		var flips []uint8
		var boxes, deltas []float32
		nflip := 0
		for i := 0; i < im.N; i++ {
			d := a.Draw(1, 5, i)
			f := uint8(0)
			if d.Flip {
				f, nflip = 1, nflip+1
			}
			flips = append(flips, f)
			boxes = append(boxes, d.Box.Y1, d.Box.X1, d.Box.Y2, d.Box.X2)
			deltas = append(deltas, d.Delta)
		}
		if nflip == 0 || nflip == im.N {
			t.Fatalf("draws flipped %d of %d images: the flip path is not exercised", nflip, im.N)
		}
		want := tfReference(t, map[string]any{
			"mode": "pipeline", "shape": []int{im.N, im.H, im.W, im.C}, "images": im.Pix,
			"flips": flips, "boxes": boxes, "deltas": deltas,
			"size": []int{cfg.Height, cfg.Width}, "factor": cfg.Brightness,
		}, len(got))
		compare(t, "pipeline", got, want, 0)
	}
}

// TestFlipRescaleBrightnessMatchTF checks the three deterministic pieces one by one.
func TestFlipRescaleBrightnessMatchTF(t *testing.T) {
	im := randomImages(21, 6, 17, 23, 3)
	shape := []int{im.N, im.H, im.W, im.C}
	n := len(im.Pix)
	var sc cropScratch
	lut := newScaleLUT(Rescale)
	per := im.H * im.W * im.C
	run := func(flip bool, delta []float32, clip bool) []float32 {
		out := make([]float32, n)
		for i := 0; i < im.N; i++ {
			d := float32(0)
			if delta != nil {
				d = delta[i]
			}
			cropResize(out[i*per:(i+1)*per], im.Pix[i*per:(i+1)*per], im.H, im.W, im.C, lut, FullBox, flip, im.H, im.W, d, clip, &sc)
		}
		return out
	}
	compare(t, "rescale", run(false, nil, false), tfReference(t, map[string]any{"mode": "rescale", "shape": shape, "images": im.Pix}, n), 0)
	compare(t, "flip", run(true, nil, false), tfReference(t, map[string]any{"mode": "flip", "shape": shape, "images": im.Pix}, n), 0)
	deltas := []float32{-0.5, -0.2, 0, 0.013, 0.3, 0.5}
	compare(t, "brightness", run(false, deltas, true), tfReference(t, map[string]any{
		"mode": "brightness", "shape": shape, "images": im.Pix, "deltas": deltas, "factor": 0.5}, n), 0)
}
