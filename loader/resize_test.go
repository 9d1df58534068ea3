package loader

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestResizeMatchesTF compares Resize with tf.image.resize(bilinear, antialias=False) rounded
// to uint8 (pyref/tfds_ref.py resize). Float rounding may differ by one level at exact halves.
func TestResizeMatchesTF(t *testing.T) {
	dir := t.TempDir()
	src := Shape{28, 28, 1}
	const n = 3
	r := rand.New(rand.NewPCG(1, 2))
	in := make([]byte, n*src.Size())
	for i := range in {
		in[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(filepath.Join(dir, "in"), in, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		h, w int
	}{{"up", 96, 96}, {"down", 11, 17}}
	var sizes []string
	for _, c := range cases {
		sizes = append(sizes, strconv.Itoa(c.h)+","+strconv.Itoa(c.w))
	}
	runRef(t, "resize", "--input", filepath.Join(dir, "in"), "--src-shape", "3,28,28,1",
		"--size", strings.Join(sizes, ";"), "--dump", filepath.Join(dir, "tf"))
	tf := loadDump(t, filepath.Join(dir, "tf"))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, _, shape := tf.split(t, strconv.Itoa(c.h)+"x"+strconv.Itoa(c.w))
			to := Shape{c.h, c.w, 1}
			if shape != to {
				t.Fatalf("tf shape %v", shape)
			}
			got := make([]byte, to.Size())
			var off int
			for i := range n {
				if err := Resize(in[i*src.Size():(i+1)*src.Size()], src, got, to); err != nil {
					t.Fatal(err)
				}
				for k, v := range got {
					d := int(v) - int(want[i*to.Size()+k])
					if d > 1 || d < -1 {
						t.Fatalf("image %d byte %d: %d, tf %d", i, k, v, want[i*to.Size()+k])
					}
					if d != 0 {
						off++
					}
				}
			}
			if off > n*to.Size()/100 {
				t.Errorf("%d of %d values off by one", off, n*to.Size())
			}
			// Channel replication: 1 -> 3 repeats the 1-channel result.
			rgb := make([]byte, to.Size()*3)
			if err := Resize(in[:src.Size()], src, rgb, Shape{c.h, c.w, 3}); err != nil {
				t.Fatal(err)
			}
			Resize(in[:src.Size()], src, got, to)
			for k, v := range got {
				if rgb[3*k] != v || rgb[3*k+1] != v || rgb[3*k+2] != v {
					t.Fatalf("pixel %d: %v, want %d thrice", k, rgb[3*k:3*k+3], v)
				}
			}
		})
	}
}

func TestResizeIdentityAndGray(t *testing.T) {
	img := []byte{10, 20, 30, 40, 50, 60}
	out := make([]byte, 6)
	if err := Resize(img, Shape{1, 2, 3}, out, Shape{1, 2, 3}); err != nil || string(out) != string(img) {
		t.Fatalf("identity: %v %v", out, err)
	}
	g := make([]byte, 2)
	if err := Resize(img, Shape{1, 2, 3}, g, Shape{1, 2, 1}); err != nil {
		t.Fatal(err)
	}
	// tf.image.rgb_to_grayscale weights.
	// 0.2989*10 + 0.5870*20 + 0.1140*30 = 18.149; 0.2989*40 + 0.5870*50 + 0.1140*60 = 48.146.
	if g[0] != 18 || g[1] != 48 {
		t.Fatalf("gray %v", g)
	}
}

// TestRoundByte: roundByte equals math.RoundToEven clipped to [0, 255] at every half and its two
// float32 neighbours from −10 to 300, and at a million random values in [−1000, 1000].
func TestRoundByte(t *testing.T) {
	want := func(v float32) uint8 {
		return uint8(min(max(math.RoundToEven(float64(v)), 0), 255))
	}
	check := func(v float32) {
		if got := roundByte(v); got != want(v) {
			t.Fatalf("roundByte(%v) = %d, want %d", v, got, want(v))
		}
	}
	for k := -10; k <= 300; k++ {
		for _, v := range []float32{float32(k), float32(k) + 0.5} {
			check(v)
			check(math.Nextafter32(v, float32(math.Inf(1))))
			check(math.Nextafter32(v, float32(math.Inf(-1))))
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 1_000_000 {
		check(float32(r.Float64()*2000 - 1000))
	}
}
