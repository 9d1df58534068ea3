package loader

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnclr/nnclr/tfrecord"
)

// refDump is a dump written by pyref/tfds_ref.py: per split, NHWC uint8 images and int64 labels
// in the order tfds read them.
type refDump struct {
	Splits map[string]struct {
		Count int   `json:"count"`
		Shape []int `json:"shape"`
	} `json:"splits"`
	dir string
}

func loadDump(t testing.TB, dir string) *refDump {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := &refDump{dir: dir}
	if err := json.Unmarshal(b, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *refDump) split(t testing.TB, name string) (images []byte, labels []int64, shape Shape) {
	t.Helper()
	m, ok := d.Splits[name]
	if !ok {
		t.Fatalf("dump %s has no split %s", d.dir, name)
	}
	shape = Shape{m.Shape[0], m.Shape[1], m.Shape[2]}
	images, err := os.ReadFile(filepath.Join(d.dir, name+".images"))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := os.ReadFile(filepath.Join(d.dir, name+".labels"))
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != m.Count*shape.Size() || len(lb) != 8*m.Count {
		t.Fatalf("dump %s/%s: sizes do not match meta.json", d.dir, name)
	}
	labels = make([]int64, m.Count)
	for i := range labels {
		labels[i] = int64(binary.LittleEndian.Uint64(lb[8*i:]))
	}
	return images, labels, shape
}

func shardPath(name, split string) string {
	return fmt.Sprintf("testdata/tfds/%s/1.0.0/%s-%s.tfrecord-00000-of-00001", name, name, split)
}

// TestDecodeExamplesFromTFDS decodes the records tfds wrote and compares them with what tfds read.
func TestDecodeExamplesFromTFDS(t *testing.T) {
	tests := []struct {
		name, split string
		maxDiff     int // per-channel tolerance: 0 for PNG; JPEG decoders differ
	}{
		{"tiny", "train", 0},
		{"tiny", "test", 0},
		{"tiny", "unlabelled", 0},
		{"tinygray", "train", 0},
		{"tinyjpeg", "train", 20},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.split, func(t *testing.T) {
			images, labels, shape := loadDump(t, filepath.Join("testdata/tfds", tc.name+".expected")).split(t, tc.split)
			var n int
			var sumDiff, cnt int
			err := tfrecord.ReadFile(shardPath(tc.name, tc.split), func(i int, rec []byte) error {
				dst := make([]byte, shape.Size())
				label, err := DecodeExample(rec, shape, dst)
				if err != nil {
					return err
				}
				if label != labels[i] {
					t.Errorf("record %d: label %d, want %d", i, label, labels[i])
				}
				want := images[i*shape.Size() : (i+1)*shape.Size()]
				for k := range dst {
					d := int(dst[k]) - int(want[k])
					if d < 0 {
						d = -d
					}
					sumDiff += d
					cnt++
					if d > tc.maxDiff {
						return fmt.Errorf("record %d byte %d: got %d, want %d", i, k, dst[k], want[k])
					}
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != len(labels) {
				t.Fatalf("read %d records, want %d", n, len(labels))
			}
			t.Logf("mean abs difference %.3f", float64(sumDiff)/float64(cnt))
			if tc.maxDiff > 0 && float64(sumDiff)/float64(cnt) > 4 {
				t.Errorf("mean abs difference %.2f vs TensorFlow's JPEG decoder", float64(sumDiff)/float64(cnt))
			}
		})
	}
}

func TestDecodeImageErrors(t *testing.T) {
	rgb := make([]byte, 4*5*3)
	for i := range rgb {
		rgb[i] = byte(i * 7)
	}
	good, err := EncodePNG(rgb, Shape{4, 5, 3}, png.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(good)
	copy(corrupt[40:], make([]byte, 10))
	tests := []struct {
		name     string
		data     []byte
		shape    Shape
		dstLen   int
		sentinel error
	}{
		{"ok", good, Shape{4, 5, 3}, 60, nil},
		{"gray target from rgb", good, Shape{4, 5, 1}, 20, ErrShape},
		{"wrong height", good, Shape{5, 5, 3}, 75, ErrShape},
		{"wrong width", good, Shape{4, 4, 3}, 48, ErrShape},
		{"short dst", good, Shape{4, 5, 3}, 59, ErrShape},
		{"bad channels", good, Shape{4, 5, 2}, 40, ErrShape},
		{"corrupt png", corrupt, Shape{4, 5, 3}, 60, ErrBadImage},
		{"truncated png", good[:30], Shape{4, 5, 3}, 60, ErrBadImage},
		{"not an image", []byte("GIF89a"), Shape{4, 5, 3}, 60, ErrBadImage},
		{"empty", nil, Shape{4, 5, 3}, 60, ErrBadImage},
		{"truncated jpeg", []byte{0xff, 0xd8, 0xff}, Shape{4, 5, 3}, 60, ErrBadImage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, tc.dstLen)
			err := DecodeImage(tc.data, tc.shape, dst)
			if tc.sentinel == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(dst, rgb) {
					t.Fatal("round trip through EncodePNG/DecodeImage changed pixels")
				}
				return
			}
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("got %v, want %v", err, tc.sentinel)
			}
		})
	}
}

func TestParseExampleErrors(t *testing.T) {
	ok, err := MarshalExample(Example{Image: []byte("x"), Label: 3})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := ParseExample(ok)
	if err != nil || string(ex.Image) != "x" || ex.Label != 3 {
		t.Fatalf("round trip: %+v, %v", ex, err)
	}
	for name, data := range map[string][]byte{
		"garbage":  {0xff, 0xff, 0xff},
		"no image": {},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseExample(data); !errors.Is(err, ErrBadExample) {
				t.Fatalf("got %v, want ErrBadExample", err)
			}
		})
	}
}

// FuzzDecodeExample feeds arbitrary records through the Example → image path: it must not panic,
// and every failure must wrap one of the package's sentinel errors.
func FuzzDecodeExample(f *testing.F) {
	for _, name := range []string{"tiny", "badpng", "wrongshape"} {
		err := tfrecord.ReadFile(shardPath(name, "train"), func(i int, rec []byte) error {
			f.Add(bytes.Clone(rec))
			return nil
		})
		if err != nil {
			f.Fatal(err)
		}
	}
	shape := Shape{8, 8, 3}
	f.Fuzz(func(t *testing.T, rec []byte) {
		dst := make([]byte, shape.Size())
		_, err := DecodeExample(rec, shape, dst)
		if err != nil && !errors.Is(err, ErrBadExample) && !errors.Is(err, ErrBadImage) && !errors.Is(err, ErrShape) {
			t.Fatalf("unexpected error class: %v", err)
		}
	})
}
