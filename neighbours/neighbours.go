package neighbours

import (
	"fmt"
	"math"
	"slices"

	"github.com/nnclr/nnclr/evaluate"
)

// Neighbour is a gallery row and its cosine similarity to a query.
type Neighbour struct {
	Row        int     `json:"row"`   // row in the gallery split given to Find
	Index      int     `json:"index"` // its index in the gallery's dataset split (Find's galleryIndex)
	Label      int64   `json:"label"`
	Similarity float64 `json:"similarity"`
}

// Query is a query row and its neighbours, nearest first.
type Query struct {
	Row        int         `json:"row"`
	Index      int         `json:"index"`
	Label      int64       `json:"label"`
	Neighbours []Neighbour `json:"neighbours"`
}

// Result is what Find found. SameClass counts the neighbours whose label is their query's, of
// Drawn = len(Queries) × k; Fraction is SameClass / Drawn.
type Result struct {
	Queries   []Query `json:"queries"`
	SameClass int     `json:"same_class"`
	Drawn     int     `json:"drawn"`
	Fraction  float64 `json:"same_class_fraction"`
}

// Find returns the k nearest gallery rows of every query row by cosine similarity: rows are
// divided by their L2 norm (max(‖x‖, 1e-12)) and compared by dot product, all in float64; equal
// similarities order by the lower gallery row. queryIndex and galleryIndex map rows to the
// examples' indices in their splits (nil: the row itself).
func Find(queries, gallery evaluate.Split, queryIndex, galleryIndex []int, k int) (Result, error) {
	switch {
	case queries.Dim <= 0 || queries.Dim != gallery.Dim:
		return Result{}, fmt.Errorf("neighbours: query dimension %d, gallery dimension %d: want equal and > 0", queries.Dim, gallery.Dim)
	case queries.Len() == 0 || gallery.Len() == 0:
		return Result{}, fmt.Errorf("neighbours: %d queries and %d gallery examples: want at least one of each", queries.Len(), gallery.Len())
	case len(queries.Features) != queries.Len()*queries.Dim || len(gallery.Features) != gallery.Len()*gallery.Dim:
		return Result{}, fmt.Errorf("neighbours: features and labels disagree in length")
	case k < 1 || k > gallery.Len():
		return Result{}, fmt.Errorf("neighbours: k = %d: want 1 to the %d gallery examples", k, gallery.Len())
	case queryIndex != nil && len(queryIndex) != queries.Len(), galleryIndex != nil && len(galleryIndex) != gallery.Len():
		return Result{}, fmt.Errorf("neighbours: index maps of %d and %d rows for %d and %d rows", len(queryIndex), len(galleryIndex), queries.Len(), gallery.Len())
	}
	d := queries.Dim
	q, g := normalize(queries.Features, d), normalize(gallery.Features, d)
	idx := func(m []int, i int) int {
		if m == nil {
			return i
		}
		return m[i]
	}
	res := Result{}
	order := make([]int, gallery.Len())
	sims := make([]float64, gallery.Len())
	for i := range queries.Len() {
		x := q[i*d : (i+1)*d]
		for j := range sims {
			s := 0.0
			for c, v := range g[j*d : (j+1)*d] {
				s += x[c] * v
			}
			sims[j] = s
			order[j] = j
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case sims[a] > sims[b]:
				return -1
			case sims[a] < sims[b]:
				return 1
			}
			return 0
		})
		qu := Query{Row: i, Index: idx(queryIndex, i), Label: queries.Labels[i]}
		for _, j := range order[:k] {
			qu.Neighbours = append(qu.Neighbours, Neighbour{Row: j, Index: idx(galleryIndex, j), Label: gallery.Labels[j], Similarity: sims[j]})
			if gallery.Labels[j] == queries.Labels[i] {
				res.SameClass++
			}
			res.Drawn++
		}
		res.Queries = append(res.Queries, qu)
	}
	res.Fraction = float64(res.SameClass) / float64(res.Drawn)
	return res, nil
}

func normalize(x []float32, d int) []float64 {
	out := make([]float64, len(x))
	for i := 0; i < len(x); i += d {
		ss := 0.0
		for _, v := range x[i : i+d] {
			ss += float64(v) * float64(v)
		}
		inv := 1 / math.Max(math.Sqrt(ss), 1e-12)
		for j, v := range x[i : i+d] {
			out[i+j] = float64(v) * inv
		}
	}
	return out
}
