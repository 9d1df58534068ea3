package inspect

import (
	"context"
	"fmt"
	"slices"

	"github.com/nnclr/nnclr/embed"
	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/internal/rng"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/setting"
)

// Purposes name the independent subset streams: the kNN monitor and evaluate's --knn-limit
// share PurposeKNN (so they draw the same examples), the projector, the neighbour sheet and the
// per-epoch validation (pretrain's --val-limit) draw their own.
const (
	PurposeKNN        = "knn"
	PurposeProjector  = "projector"
	PurposeNeighbours = "neighbours"
	PurposeValidation = "validation"
)

// Subset returns min(limit, n) distinct indices of [0, n) in ascending order: all of them when
// limit <= 0 or limit >= n, else a uniform draw from the stream of seed, purpose and split
// (rng.New), the same for the same arguments.
func Subset(n, limit int, seed int64, purpose, split string) []int {
	if limit <= 0 || limit >= n {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	r := rng.New(uint64(seed), rng.Name("inspect-subset"), rng.Name(purpose), rng.Name(split))
	idx := r.Perm(n)[:limit]
	slices.Sort(idx)
	return idx
}

// Examples are embedded examples of one split.
type Examples struct {
	Split   string
	Indices []int          // file-order indices in the split, ascending as given
	Data    evaluate.Split // their embeddings and labels (-1: unlabelled), in Indices' order
	// Images holds the examples' images at the split's own shape (Shape), NHWC, when
	// EmbedOptions.KeepImages was set. A split whose images differ in size keeps them as the
	// embedder saw them: resized to its input shape (Shape is then that shape).
	Images []byte
	Shape  loader.Shape
	// Files holds the examples' source file names (loader.SplitReader.Filename, "" where one has
	// none) when EmbedOptions.KeepFiles was set.
	Files []string
}

// Image returns example i's image (a sub-slice of Images).
func (x Examples) Image(i int) []byte {
	n := x.Shape.Size()
	return x.Images[i*n : (i+1)*n]
}

// EmbedOptions configures Embed.
type EmbedOptions struct {
	// Batch is the number of images per Embed call (> 0).
	Batch int
	// KeepImages keeps the decoded images at the split's shape in Examples.Images.
	KeepImages bool
	// KeepFiles keeps the examples' source file names in Examples.Files.
	KeepFiles bool
	// Progress, when not nil, is told the examples done and the total after each batch.
	Progress func(done, total int)
}

// Embed embeds the examples indices of split (file-order indices, each in range) with e: each
// image is decoded at the split's shape (at its own size where the split's images differ in
// size) and resized to e.InputShape() as the batch pipeline does (loader.Resize). It stops
// between batches with ctx's error when ctx is cancelled.
func Embed(ctx context.Context, e embed.Embedder, ds *loader.Dataset, split string, indices []int, o EmbedOptions) (Examples, error) {
	if o.Batch <= 0 {
		return Examples{}, setting.Errorf("batch_size", o.Batch, "want > 0")
	}
	sp, err := ds.Split(split)
	if err != nil {
		return Examples{}, err
	}
	r, err := sp.Open()
	if err != nil {
		return Examples{}, err
	}
	defer r.Close()
	for _, i := range indices {
		if i < 0 || i >= r.Len() {
			return Examples{}, fmt.Errorf("inspect: split %s of %s: example %d out of range [0, %d)", split, ds.Info.Name, i, r.Len())
		}
	}
	native, in := r.Shape(), e.InputShape()
	fixed := native.Fixed()
	out := Examples{Split: split, Indices: indices, Shape: native}
	if !fixed {
		out.Shape = in
	}
	if o.KeepImages {
		out.Images = make([]byte, len(indices)*out.Shape.Size())
	}
	scratch := make([]byte, native.Size())
	var buf, pix []byte
	for lo := 0; lo < len(indices); lo += o.Batch {
		if err := ctx.Err(); err != nil {
			return Examples{}, err
		}
		hi := min(lo+o.Batch, len(indices))
		b := &loader.Batch{Images: make([]byte, (hi-lo)*in.Size()), Labels: make([]int64, hi-lo), Shape: in, Indices: indices[lo:hi]}
		for j, i := range indices[lo:hi] {
			if !fixed {
				var shp loader.Shape
				if pix, shp, b.Labels[j], buf, err = r.ReadImage(i, pix[:cap(pix)], buf); err != nil {
					return Examples{}, err
				}
				if err := loader.Resize(pix, shp, b.Image(j), in); err != nil {
					return Examples{}, fmt.Errorf("inspect: split %s example %d: %w", split, i, err)
				}
				if o.KeepImages {
					copy(out.Image(lo+j), b.Image(j))
				}
			} else {
				dst := scratch
				if o.KeepImages {
					dst = out.Image(lo + j)
				}
				if b.Labels[j], buf, err = r.Read(i, dst, buf); err != nil {
					return Examples{}, err
				}
				if native == in {
					copy(b.Image(j), dst)
				} else if err := loader.Resize(dst, native, b.Image(j), in); err != nil {
					return Examples{}, fmt.Errorf("inspect: split %s example %d: %w", split, i, err)
				}
			}
			if o.KeepFiles {
				var f string
				if f, buf, err = r.Filename(i, buf); err != nil {
					return Examples{}, err
				}
				out.Files = append(out.Files, f)
			}
		}
		v, d, err := e.Embed(b)
		if err != nil {
			return Examples{}, err
		}
		out.Data.Dim = d
		out.Data.Features = append(out.Data.Features, v...)
		out.Data.Labels = append(out.Data.Labels, b.Labels...)
		if o.Progress != nil {
			o.Progress(hi, len(indices))
		}
	}
	return out, nil
}

// Images reads the images and labels of the examples indices of split at the split's shape
// (NHWC, in indices' order). A split whose images differ in size has each resized to
// differing (loader.Resize), as Embed keeps them; such a split with a differing that is not a
// fixed shape is refused.
func Images(ds *loader.Dataset, split string, indices []int, differing loader.Shape) ([]byte, []int64, loader.Shape, error) {
	sp, err := ds.Split(split)
	if err != nil {
		return nil, nil, loader.Shape{}, err
	}
	r, err := sp.Open()
	if err != nil {
		return nil, nil, loader.Shape{}, err
	}
	defer r.Close()
	s := r.Shape()
	fixed := s.Fixed()
	if !fixed {
		if !differing.Fixed() {
			return nil, nil, s, fmt.Errorf("inspect: split %s of %s: its images differ in size: want a shape to resize them to", split, ds.Info.Name)
		}
		s = differing
	}
	pix, labels := make([]byte, len(indices)*s.Size()), make([]int64, len(indices))
	var buf, img []byte
	for j, i := range indices {
		if i < 0 || i >= r.Len() {
			return nil, nil, s, fmt.Errorf("inspect: split %s of %s: example %d out of range [0, %d)", split, ds.Info.Name, i, r.Len())
		}
		dst := pix[j*s.Size() : (j+1)*s.Size()]
		if fixed {
			labels[j], buf, err = r.Read(i, dst, buf)
		} else {
			var shp loader.Shape
			if img, shp, labels[j], buf, err = r.ReadImage(i, img[:cap(img)], buf); err == nil {
				if err = loader.Resize(img, shp, dst, s); err != nil {
					err = fmt.Errorf("inspect: split %s example %d: %w", split, i, err)
				}
			}
		}
		if err != nil {
			return nil, nil, s, err
		}
	}
	return pix, labels, s, nil
}
