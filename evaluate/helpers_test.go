package evaluate

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/nnclr/nnclr/internal/npy"
)

// clusterData draws a seeded classification problem: every class has `modes` Gaussian clusters
// whose centres are standard normal in d dimensions; an example is its cluster's centre plus
// isotropic noise of standard deviation `noise`. Classes and clusters are assigned round-robin.
func clusterData(seed uint64, classes, modes, d, nTrain, nTest int, noise float64) (train, test Split) {
	r := rand.New(rand.NewPCG(seed, 0xe7a1))
	centres := make([]float64, classes*modes*d)
	for i := range centres {
		centres[i] = r.NormFloat64()
	}
	draw := func(n int) Split {
		s := Split{Features: make([]float32, n*d), Labels: make([]int64, n), Dim: d}
		for i := range s.Labels {
			c := r.IntN(classes * modes)
			s.Labels[i] = int64(c % classes)
			for j := 0; j < d; j++ {
				s.Features[i*d+j] = float32(centres[c*d+j] + noise*r.NormFloat64())
			}
		}
		return s
	}
	return draw(nTrain), draw(nTest)
}

// writeSplits writes the splits as train_x, train_y, test_x, test_y (and classes) to a .npz in
// a temporary directory and returns its path.
func writeSplits(t *testing.T, train, test Split, classes int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "features.npz")
	err := npy.WriteNPZ(path, map[string]npy.Array{
		"train_x": {Shape: []int{train.Len(), train.Dim}, Data: train.Features},
		"train_y": {Shape: []int{train.Len()}, Data: train.Labels},
		"test_x":  {Shape: []int{test.Len(), test.Dim}, Data: test.Features},
		"test_y":  {Shape: []int{test.Len()}, Data: test.Labels},
		"classes": {Shape: nil, Data: []int64{int64(classes)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// readNPZ reads a .npz the reference scripts wrote.
func readNPZ(t *testing.T, path string) map[string]npy.Array {
	t.Helper()
	z, err := npy.ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// get returns member name of z as type T, failing the test when it is missing or of another type.
func get[T any](t *testing.T, z map[string]npy.Array, name string) T {
	t.Helper()
	a, ok := z[name]
	if !ok {
		t.Fatalf("reference output has no %s", name)
	}
	v, ok := a.Data.(T)
	if !ok {
		t.Fatalf("reference output %s is %T", name, a.Data)
	}
	return v
}
