package evaluate

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// KNNConfig configures the weighted k-nearest-neighbour vote.
type KNNConfig struct {
	// K is the number of neighbours that vote (20).
	K int
	// Temperature scales the similarities before exponentiation (0.07).
	Temperature float64
	// Workers is the number of goroutines over test rows; 0 means runtime.GOMAXPROCS(0). The
	// result does not depend on it.
	Workers int
}

// DefaultKNNConfig returns k = 20 and T = 0.07, the settings of InstDisc and DINO's eval_knn.
func DefaultKNNConfig() KNNConfig { return KNNConfig{K: 20, Temperature: 0.07} }

// Validate reports settings that cannot be used with nTrain train examples.
func (c KNNConfig) Validate(nTrain int) error {
	switch {
	case c.K < 1:
		return fmt.Errorf("evaluate: knn: k = %d: want at least 1: %w", c.K, ErrConfig)
	case c.K > nTrain:
		return fmt.Errorf("evaluate: knn: k = %d exceeds the %d train examples: %w", c.K, nTrain, ErrConfig)
	case !(c.Temperature > 0) || math.IsInf(c.Temperature, 0):
		return fmt.Errorf("evaluate: knn: temperature %v: want a finite value > 0: %w", c.Temperature, ErrConfig)
	case c.Workers < 0:
		return fmt.Errorf("evaluate: knn: %d workers: want >= 0: %w", c.Workers, ErrConfig)
	}
	return nil
}

// Tile sizes of the blocked similarity product: a worker takes knnRowBlock test rows at a time
// and streams the train features past them knnTrainTile rows at a time, so one train tile stays
// in cache while it is reused for every test row of the block.
const (
	knnRowBlock  = 16
	knnTrainTile = 256
)

// KNN classifies every test example by a weighted vote of its K nearest train examples:
//
//   - train and test features are L2-normalized (a row is divided by max(‖x‖, 1e-12), as
//     torch.nn.functional.normalize; an all-zero row stays zero);
//   - the similarity of a test row to each train row is their dot product (cosine similarity),
//     computed in float32;
//   - the K most similar train rows vote (equal similarities: the lower train index is nearer);
//   - each neighbour adds exp(sim / Temperature) to its class's score (in float64);
//   - classes rank by descending score, equal scores by ascending class index, so the
//     prediction is the highest-scoring class and a tie goes to the lowest class index. Classes
//     without a neighbour score 0.
//
// Top-5 is computed from the same class ranking when classes > 5. The result does not depend on
// cfg.Workers.
func KNN(train, test Split, classes int, cfg KNNConfig) (Accuracy, error) {
	if err := validatePair(train, test, classes); err != nil {
		return Accuracy{}, err
	}
	if err := cfg.Validate(train.Len()); err != nil {
		return Accuracy{}, err
	}
	d, nTrain, nTest := train.Dim, train.Len(), test.Len()
	tr, te := normalizeRows(train.Features, d), normalizeRows(test.Features, d)
	scores := make([]float64, nTest*classes)

	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	nBlocks := (nTest + knnRowBlock - 1) / knnRowBlock
	workers = min(workers, nBlocks)
	blocks := make(chan int, nBlocks)
	for b := 0; b < nBlocks; b++ {
		blocks <- b
	}
	close(blocks)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sims := make([]float32, knnRowBlock*knnTrainTile)
			heaps := make([]topK, knnRowBlock)
			for r := range heaps {
				heaps[r] = topK{k: cfg.K, items: make([]neighbour, 0, cfg.K)}
			}
			for b := range blocks {
				lo, hi := b*knnRowBlock, min((b+1)*knnRowBlock, nTest)
				rows := te[lo*d : hi*d]
				for r := range heaps[:hi-lo] {
					heaps[r].items = heaps[r].items[:0]
				}
				for t0 := 0; t0 < nTrain; t0 += knnTrainTile {
					t1 := min(t0+knnTrainTile, nTrain)
					tile := tr[t0*d : t1*d]
					m := t1 - t0
					similarities(sims, rows, tile, d, m)
					for r := 0; r < hi-lo; r++ {
						h := &heaps[r]
						for j, s := range sims[r*m : (r+1)*m] {
							h.offer(s, t0+j)
						}
					}
				}
				for r := 0; r < hi-lo; r++ {
					row := scores[(lo+r)*classes : (lo+r+1)*classes]
					for _, nb := range heaps[r].sorted() {
						row[train.Labels[nb.index]] += math.Exp(float64(nb.sim) / cfg.Temperature)
					}
				}
			}
		}()
	}
	wg.Wait()
	return rank(scores, test.Labels, classes), nil
}

// normalizeRows returns a copy of the rows of x (dimension d) divided by max(‖row‖, 1e-12), the
// norm accumulated in float64.
func normalizeRows(x []float32, d int) []float32 {
	out := make([]float32, len(x))
	for i := 0; i < len(x); i += d {
		var ss float64
		for _, v := range x[i : i+d] {
			ss += float64(v) * float64(v)
		}
		inv := 1 / math.Max(math.Sqrt(ss), 1e-12)
		for j, v := range x[i : i+d] {
			out[i+j] = float32(float64(v) * inv)
		}
	}
	return out
}

// similarities writes the dot products of every row of a (dimension d) with each of the m rows
// of b into out[r*m+j].
func similarities(out, a, b []float32, d, m int) {
	for r := 0; r < len(a)/d; r++ {
		x := a[r*d : (r+1)*d]
		o := out[r*m : (r+1)*m]
		for j := range o {
			o[j] = dot(x, b[j*d:(j+1)*d])
		}
	}
}

// dot is the float32 dot product of two equal-length vectors, with four running sums.
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// neighbour is a train row and its similarity to the current test row.
type neighbour struct {
	sim   float32
	index int
}

// nearer orders neighbours: higher similarity first, then lower train index.
func nearer(a, b neighbour) bool { return a.sim > b.sim || (a.sim == b.sim && a.index < b.index) }

// topK keeps the k nearest neighbours offered so far in a heap whose root is the farthest.
type topK struct {
	k     int
	items []neighbour
}

func (h *topK) offer(sim float32, index int) {
	nb := neighbour{sim, index}
	if len(h.items) < h.k {
		h.items = append(h.items, nb)
		for i := len(h.items) - 1; i > 0; {
			p := (i - 1) / 2
			if !nearer(h.items[p], h.items[i]) {
				break
			}
			h.items[p], h.items[i] = h.items[i], h.items[p]
			i = p
		}
		return
	}
	if !nearer(nb, h.items[0]) {
		return
	}
	h.items[0] = nb
	for i := 0; ; {
		far := i
		for _, c := range [2]int{2*i + 1, 2*i + 2} {
			if c < len(h.items) && nearer(h.items[far], h.items[c]) {
				far = c
			}
		}
		if far == i {
			return
		}
		h.items[i], h.items[far] = h.items[far], h.items[i]
		i = far
	}
}

// sorted returns the kept neighbours nearest first (it reorders the heap's storage; offer must
// not be called again before a reset).
func (h *topK) sorted() []neighbour {
	slices.SortFunc(h.items, func(a, b neighbour) int {
		if nearer(a, b) {
			return -1
		}
		if nearer(b, a) {
			return 1
		}
		return 0
	})
	return h.items
}
