package loader

import (
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testpy"
)

// BenchmarkPipelineVsTFData reads 4,000 PNG records of 96×96×3 (shuffle buffer 5,000, batches of
// 200, drop-remainder) with the Go pipeline and, in the same run, with tf.data through tfds's
// builder_from_directory on the same files and thread count. Reports both images/s and the
// ratio. (One pretraining step of the example consumes 2,100 images in tens of seconds.)
func BenchmarkPipelineVsTFData(b *testing.B) {
	const n, batch, buffer = 4000, 200, 5000
	r := rand.New(rand.NewPCG(5, 5))
	shape := Shape{Height: 96, Width: 96, Channels: 3}
	src := &MemorySource{Images: make([]byte, n*shape.Size()), Labels: make([]int64, n), Shp: shape}
	// Smooth images with noise, closer to photographs than pure noise for the PNG codec.
	for i := 0; i < n; i++ {
		img := src.Images[i*shape.Size() : (i+1)*shape.Size()]
		base := r.IntN(200)
		for j := range img {
			img[j] = uint8(base + (j/288)%40 + r.IntN(16))
		}
		src.Labels[i] = -1
	}
	dataDir := b.TempDir()
	w, err := NewWriter(dataDir, STL10Spec(), WriterOptions{ExamplesPerShard: 1000})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.WriteSplit("unlabelled", src); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	ds, err := Open(dataDir, "stl10")
	if err != nil {
		b.Fatal(err)
	}
	sp, err := ds.Split("unlabelled")
	if err != nil {
		b.Fatal(err)
	}
	rd, err := sp.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	b.ResetTimer()
	start := time.Now()
	images := 0
	for i := 0; i < b.N; i++ {
		it, err := NewBatchIterator(rd, BatchConfig{BatchSize: batch, DropRemainder: true, ShuffleFiles: true, ShuffleBuffer: buffer, Seed: 1, Epoch: i})
		if err != nil {
			b.Fatal(err)
		}
		for {
			bt, err := it.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			images += bt.Len()
		}
		it.Close()
	}
	goRate := float64(images) / time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(goRate, "go-images/s")
	out := testpy.Run(b, "testdata/tfdata_bench.py", filepath.Join(dataDir, "stl10", "1.0.0"), "unlabelled",
		strconv.Itoa(batch), strconv.Itoa(buffer), strconv.Itoa(runtime.GOMAXPROCS(0)))
	var tfr struct {
		ImagesPerSecond float64 `json:"images_per_second"`
	}
	if err := json.Unmarshal(out, &tfr); err != nil {
		b.Fatalf("tf.data bench output %q: %v", out, err)
	}
	b.ReportMetric(tfr.ImagesPerSecond, "tfdata-images/s")
	b.ReportMetric(goRate/tfr.ImagesPerSecond, "go/tfdata")
}
