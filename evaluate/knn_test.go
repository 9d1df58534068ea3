package evaluate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/internal/testpy"
)

// gaussFixture is 10 classes × 3 Gaussian clusters in 32 dimensions, 2,000 train and 500 test
// examples, plus exact ties: the last 20 train rows repeat train rows 0–19 under the next class,
// and the first 10 test rows repeat train rows 0–9, so at k = 1 their two equally near
// neighbours disagree and only the tie-break (lower train index) decides.
func gaussFixture(seed uint64, noise float64) (train, test Split, classes int) {
	const d = 32
	classes = 10
	train, test = clusterData(seed, classes, 3, d, 2000, 500, noise)
	for i := 0; i < 20; i++ {
		j := 1980 + i
		copy(train.Features[j*d:(j+1)*d], train.Features[i*d:(i+1)*d])
		train.Labels[j] = (train.Labels[i] + 1) % int64(classes)
	}
	for i := 0; i < 10; i++ {
		copy(test.Features[i*d:(i+1)*d], train.Features[i*d:(i+1)*d])
		test.Labels[i] = train.Labels[i]
	}
	return train, test, classes
}

// exactFixture is 10 classes × 3 clusters in 32 dimensions whose rows have 16 entries ±2ʲ and
// 16 zeros (j per row in −2…3): normalized rows have entries ±1/4 and 0, so every similarity is
// a multiple of 1/16 computed exactly in float32 and float64 alike. Ties are everywhere — equal
// similarities at the k-th place, equal class scores — and must be broken identically. A
// cluster centre is a random support and sign pattern; an example moves each support entry
// elsewhere with probability 0.3 and flips its sign with probability 0.2.
func exactFixture(seed uint64) (train, test Split, classes int) {
	const d, nnz, modes = 32, 16, 3
	classes = 10
	r := rand.New(rand.NewPCG(seed, 0xe8ac7))
	centres := make([][d]float32, classes*modes)
	for c := range centres {
		for _, j := range r.Perm(d)[:nnz] {
			centres[c][j] = float32(1 - 2*r.IntN(2))
		}
	}
	draw := func(n int) Split {
		s := Split{Features: make([]float32, n*d), Labels: make([]int64, n), Dim: d}
		for i := range s.Labels {
			c := r.IntN(classes * modes)
			s.Labels[i] = int64(c % classes)
			row := s.Features[i*d : (i+1)*d]
			copy(row, centres[c][:])
			for j := range row {
				if row[j] == 0 {
					continue
				}
				if r.Float64() < 0.2 {
					row[j] = -row[j]
				}
				if r.Float64() < 0.3 {
					k := r.IntN(d)
					row[j], row[k] = row[k], row[j]
				}
			}
			scale := float32(math.Ldexp(1, r.IntN(6)-2))
			for j := range row {
				row[j] *= scale
			}
		}
		return s
	}
	return draw(2000), draw(500), classes
}

// TestKNNMatchesNumPy: the Go vote gives the same prediction and label rank for every test
// example, and the same top-1 and top-5, as testdata/knn_ref.py's float64 NumPy vote, on
// Gaussian features (distinct similarities, checked to lie farther apart than float32 rounding
// can move them, plus duplicated rows) and on features whose similarities are exact (ties
// everywhere).
func TestKNNMatchesNumPy(t *testing.T) {
	gTrain, gTest, gClasses := gaussFixture(1, 1.2)
	eTrain, eTest, eClasses := exactFixture(5)
	def := DefaultKNNConfig()
	for _, f := range []struct {
		name        string
		train, test Split
		classes     int
		// simErr bounds |Go's float32 similarity − the exact one| on this fixture.
		simErr   float64
		settings []KNNConfig
	}{
		// Go's similarities of unit vectors in 32 dimensions are within 12u of the exact ones
		// (u = 2⁻²⁴; each component of a normalized row is rounded once to float32: 2u;
		// products and four running sums of 8 terms, then 2 additions: 10u).
		{"gaussian", gTrain, gTest, gClasses, 12 * 0x1p-24, []KNNConfig{def, {K: 1, Temperature: 0.07}, {K: 10, Temperature: 0.2}, {K: 5, Temperature: 0.5}}},
		{"exact", eTrain, eTest, eClasses, 0, []KNNConfig{def, {K: 1, Temperature: 0.07}, {K: 200, Temperature: 0.1}, {K: 7, Temperature: 1}}},
	} {
		t.Run(f.name, func(t *testing.T) {
			in := writeSplits(t, f.train, f.test, f.classes)
			out := filepath.Join(t.TempDir(), "knn_ref.npz")
			args := []string{in, out}
			for _, c := range f.settings {
				args = append(args, fmt.Sprintf("%d:%v", c.K, c.Temperature))
			}
			testpy.Run(t, filepath.Join("testdata", "knn_ref.py"), args...)
			ref := readNPZ(t, out)
			for i, cfg := range f.settings {
				t.Run(fmt.Sprintf("k=%d,T=%v", cfg.K, cfg.Temperature), func(t *testing.T) {
					compareKNN(t, f.train, f.test, f.classes, cfg, ref, i, f.simErr)
				})
			}
		})
	}
}

// compareKNN checks KNN against setting i of knn_ref.py's output for several worker counts.
func compareKNN(t *testing.T, train, test Split, classes int, cfg KNNConfig, ref map[string]npy.Array, i int, simErr float64) {
	// The fixture must leave rounding no room to change a neighbour set or a class order;
	// otherwise the comparison would test the fixture, not the code. An order by a similarity
	// gap above 2·simErr cannot flip; a weight exp(sim/T) is within a relative simErr/T of
	// NumPy's (plus a few ulps for the two exp implementations), so a class order by a gap
	// above 2.2·simErr/T + 1e-9 of the largest score cannot flip either. Exact ties (identical
	// rows, exact similarities) stay exact in both.
	kgap := get[[]float64](t, ref, fmt.Sprintf("kgap_%d", i))
	margin := get[[]float64](t, ref, fmt.Sprintf("margin_%d", i))
	if g := slices.Min(kgap); g <= 2*simErr {
		t.Fatalf("fixture: a similarity lies %.2g from the k-th largest, within float32 rounding: change the fixture", g)
	}
	if m := slices.Min(margin); m <= 2.2*simErr/cfg.Temperature+1e-9 {
		t.Fatalf("fixture: two class scores differ by %.2g of the largest, within rounding: change the fixture", m)
	}
	pred := get[[]int64](t, ref, fmt.Sprintf("pred_%d", i))
	ranks := get[[]int64](t, ref, fmt.Sprintf("rank_%d", i))
	top1 := get[[]float64](t, ref, fmt.Sprintf("top1_%d", i))[0]
	top5 := get[[]float64](t, ref, fmt.Sprintf("top5_%d", i))[0]
	for _, workers := range []int{0, 1, 3} {
		cfg.Workers = workers
		got, err := KNN(train, test, classes, cfg)
		if err != nil {
			t.Fatal(err)
		}
		diff := 0
		for j := range pred {
			if got.Predictions[j] != pred[j] || int64(got.LabelRanks[j]) != ranks[j] {
				if diff < 5 {
					t.Errorf("workers %d: test example %d: Go predicts %d (label rank %d), NumPy %d (label rank %d)",
						workers, j, got.Predictions[j], got.LabelRanks[j], pred[j], ranks[j])
				}
				diff++
			}
		}
		if got.Top1 != top1 || !got.HasTop5 || got.Top5 != top5 {
			t.Errorf("workers %d: top-1 %v top-5 %v (has %v), NumPy top-1 %v top-5 %v", workers, got.Top1, got.Top5, got.HasTop5, top1, top5)
		}
		if diff > 0 {
			t.Fatalf("workers %d: %d of %d predictions differ", workers, diff, len(pred))
		}
		if workers == 0 {
			t.Logf("Go and NumPy agree on all %d predictions and label ranks: top-1 %.4f, top-5 %.4f (closest similarity to the k-th %.2g, smallest relative class-score gap %.2g)",
				len(pred), got.Top1, got.Top5, slices.Min(kgap), slices.Min(margin))
		}
	}
}

// TestKNNTieBreaks pins the documented tie rules on hand-made data: equally similar train rows
// are taken in index order, and equal class scores go to the lower class index.
func TestKNNTieBreaks(t *testing.T) {
	// Train rows 0 and 1 are the same direction (scaled) with labels 2 and 1; row 2 is orthogonal.
	train := Split{Features: []float32{1, 0, 3, 0, 0, 1}, Labels: []int64{2, 1, 0}, Dim: 2}
	test := Split{Features: []float32{2, 0, 0, 5}, Labels: []int64{2, 0}, Dim: 2}
	got, err := KNN(train, test, 3, KNNConfig{K: 1, Temperature: 0.07})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Predictions, []int64{2, 0}) || got.Top1 != 1 || got.HasTop5 {
		t.Fatalf("k=1: %+v (want predictions [2 0]: the lower of two equal neighbours)", got)
	}
	// k = 2: test row 0's neighbours 0 and 1 give classes 2 and 1 equal scores; class 1 wins.
	got, err = KNN(train, test, 3, KNNConfig{K: 2, Temperature: 0.07})
	if err != nil {
		t.Fatal(err)
	}
	if got.Predictions[0] != 1 || got.LabelRanks[0] != 1 {
		t.Fatalf("k=2: prediction %d, label rank %d (want 1, 1: a score tie goes to the lower class)", got.Predictions[0], got.LabelRanks[0])
	}
	// A zero feature vector stays zero after normalization: similarity 0 to every row, so the
	// three neighbours tie and classes 0, 1, 2 each get exp(0).
	zero := Split{Features: []float32{0, 0}, Labels: []int64{1}, Dim: 2}
	got, err = KNN(train, zero, 3, KNNConfig{K: 3, Temperature: 0.07})
	if err != nil {
		t.Fatal(err)
	}
	if got.Predictions[0] != 0 || got.LabelRanks[0] != 1 {
		t.Fatalf("zero row: %+v", got)
	}
}

// TestKNNScoresAndTop5 checks the weights exp(sim/T) on a case where a near neighbour of one class
// outweighs two farther ones of another, and that top-5 appears only with more than five classes.
func TestKNNScoresAndTop5(t *testing.T) {
	a := math.Pi / 3 // cos = 0.5
	train := Split{Features: []float32{1, 0, float32(math.Cos(a)), float32(math.Sin(a)), float32(math.Cos(a)), float32(-math.Sin(a))}, Labels: []int64{0, 6, 6}, Dim: 2}
	test := Split{Features: []float32{1, 0}, Labels: []int64{6}, Dim: 2}
	// Weights exp(1/T) against 2·exp(0.5/T): class 0 wins for T < 0.5/ln 2 ≈ 0.72, class 6 above.
	for _, c := range []struct {
		temp float64
		want int64
	}{{0.07, 0}, {0.5, 0}, {1, 6}, {10, 6}} {
		got, err := KNN(train, test, 7, KNNConfig{K: 3, Temperature: c.temp})
		if err != nil {
			t.Fatal(err)
		}
		if got.Predictions[0] != c.want || !got.HasTop5 || got.Top5 != 1 {
			t.Errorf("T=%v: %+v, want prediction %d and top-5 1", c.temp, got, c.want)
		}
	}
}

// TestKNNBadInput: every malformed input is an error naming what is wrong, wrapping the
// matching sentinel; none panics.
func TestKNNBadInput(t *testing.T) {
	train, test := clusterData(2, 3, 1, 4, 30, 10, 0.5)
	nan := test
	nan.Features = slices.Clone(test.Features)
	nan.Features[2*4+1] = float32(math.NaN())
	inf := train
	inf.Features = slices.Clone(train.Features)
	inf.Features[5*4+3] = float32(math.Inf(-1))
	badLabel := test
	badLabel.Labels = slices.Clone(test.Labels)
	badLabel.Labels[7] = 3
	negLabel := train
	negLabel.Labels = slices.Clone(train.Labels)
	negLabel.Labels[4] = -1
	narrow, _ := clusterData(2, 3, 1, 3, 10, 1, 0.5)
	short := test
	short.Features = test.Features[:len(test.Features)-1]
	def := DefaultKNNConfig()
	for _, c := range []struct {
		name        string
		train, test Split
		classes     int
		cfg         KNNConfig
		is          error
		msg         string
	}{
		{"dimension mismatch", train, narrow, 3, def, ErrShape, "train features have dimension 4 but test features have dimension 3"},
		{"k above train count", train, test, 3, KNNConfig{K: 31, Temperature: 0.07}, ErrConfig, "k = 31 exceeds the 30 train examples"},
		{"default k above train count", Split{Features: train.Features[:40], Labels: train.Labels[:10], Dim: 4}, test, 3, def, ErrConfig, "k = 20 exceeds the 10 train examples"},
		{"k zero", train, test, 3, KNNConfig{K: 0, Temperature: 0.07}, ErrConfig, "k = 0"},
		{"temperature zero", train, test, 3, KNNConfig{K: 5}, ErrConfig, "temperature 0"},
		{"temperature NaN", train, test, 3, KNNConfig{K: 5, Temperature: math.NaN()}, ErrConfig, "temperature NaN"},
		{"negative workers", train, test, 3, KNNConfig{K: 5, Temperature: 1, Workers: -1}, ErrConfig, "-1 workers"},
		{"empty train", Split{Dim: 4}, test, 3, def, ErrEmpty, "train split has no examples"},
		{"empty test", train, Split{Dim: 4}, 3, def, ErrEmpty, "test split has no examples"},
		{"features not rows", train, short, 3, def, ErrShape, "test split has 39 feature values for 10 examples of dimension 4"},
		{"zero dimension", Split{Labels: []int64{0}}, Split{Labels: []int64{0}}, 3, def, ErrShape, "train split has feature dimension 0"},
		{"test label out of range", train, badLabel, 3, def, ErrLabel, "test example 7: label 3 outside [0, 3)"},
		{"negative train label", negLabel, test, 3, def, ErrLabel, "train example 4: label -1 outside [0, 3)"},
		{"no classes", train, test, 0, def, ErrConfig, "0 classes"},
		{"NaN test feature", train, nan, 3, def, ErrNonFinite, "test example 2: feature 1 is NaN"},
		{"infinite train feature", inf, test, 3, def, ErrNonFinite, "train example 5: feature 3 is -Inf"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := KNN(c.train, c.test, c.classes, c.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "evaluate: ") {
				t.Fatalf("error %q: want %q wrapping %v", err, c.msg, c.is)
			}
		})
	}
}
