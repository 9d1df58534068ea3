package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nnclr/nnclr/embed"
	"github.com/nnclr/nnclr/inspect"
	"github.com/nnclr/nnclr/internal/atomicfile"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/neighbours"
	"github.com/nnclr/nnclr/projector"
	rundir "github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/setting"
)

// projectorLimitDefault is --projector-limit's default: a 50×50 sprite grid, 1,400 px wide at
// Fashion-MNIST's 28 px and 4,800 px at STL-10's 96 px, within TensorBoard's 8,192.
const projectorLimitDefault = 2500

// projectorLogdir returns the log directory --projector writes to ("" without --projector):
// --projector-dir, else the run directory.
func (c *cli) projectorLogdir() (string, error) {
	switch {
	case !c.projector && c.projectorDir != "":
		return "", usage(errors.New("--projector-dir without --projector: add --projector"))
	case !c.projector:
		return "", nil
	case c.projectorDir != "":
		return c.projectorDir, nil
	case c.model != "" || c.runDir == "":
		return "", usage(errors.New("--projector with --model needs --projector-dir (a directory to view with tensorboard --logdir)"))
	}
	return c.runDir, nil
}

// subsetSeed is the seed of the seeded subsets: --seed when given, else the run's seed for a run
// (so evaluate --knn-limit draws the kNN monitor's examples), else --seed's default.
func (c *cli) subsetSeed() (int64, error) {
	if c.fs.Changed("seed") || c.runDir == "" || c.model != "" {
		return c.pretrain.Seed, nil
	}
	cfg, err := rundir.ReadConfig(c.runDir)
	if err != nil {
		return 0, err
	}
	return cfg.Seed, nil
}

// writeProjector writes a seeded subset of split for TensorBoard's projector when --projector is
// given.
func (c *cli) writeProjector(e embed.Embedder, ds *loader.Dataset, split string, stdout, stderr io.Writer) error {
	dir, err := c.projectorLogdir()
	if err != nil || dir == "" {
		return err
	}
	sp, err := ds.Split(split)
	if err != nil {
		return err
	}
	n := sp.NumExamples()
	if c.fs.Changed("projector-limit") && c.projectorLimit > n {
		return c.flagError(setting.Errorf("projector_limit", c.projectorLimit, "above the %d examples of split %s of %s", n, split, ds.Info.Name))
	}
	seed, err := c.subsetSeed()
	if err != nil {
		return err
	}
	bar := newLazyBar(c, stderr, false)
	x, err := inspect.Embed(c.ctx, e, ds, split, inspect.Subset(n, c.projectorLimit, seed, inspect.PurposeProjector, split),
		inspect.EmbedOptions{Batch: c.batchSize, KeepImages: true, KeepFiles: ds.Features.Filenames, Progress: bar.images("projector: " + split)})
	bar.finish()
	if err != nil {
		return err
	}
	if err := c.ctx.Err(); err != nil {
		return err
	}
	emb := projector.Embedding{Name: c.pretrain.Dataset + "/" + split, Vectors: x.Data.Features, Dim: x.Data.Dim, Index: x.Indices,
		Images: make([]projector.Image, len(x.Indices))}
	for i := range emb.Images {
		emb.Images[i] = projector.Image{Pix: x.Image(i), Shape: x.Shape}
	}
	if !slices.Contains(x.Data.Labels, -1) {
		emb.Labels, emb.ClassNames = x.Data.Labels, ds.Features.Label.Names
	}
	if ds.Features.Filenames {
		emb.Files = x.Files
	}
	res, err := projector.Write(dir, emb)
	if err != nil {
		return c.flagError(err)
	}
	fmt.Fprintf(stdout, "projector: %d points of %s in %d dimensions, metadata columns %s, sprite %dx%d of %dx%d thumbnails: tensorboard --logdir %s\n",
		res.Rows, emb.Name, emb.Dim, strings.Join(res.Columns, ","), res.SpriteWH.X, res.SpriteWH.Y, res.Thumb.X, res.Thumb.Y, dir)
	for _, note := range res.Notes {
		fmt.Fprintf(stdout, "projector: %s\n", note)
	}
	return nil
}

// runNeighbours draws the nearest-neighbour sheet: --queries images of --split, each followed by
// its --neighbours nearest examples of --train-split.
func runNeighbours(c *cli, stdout, stderr io.Writer) error {
	if c.out == "" {
		return usage(errors.New("--mode neighbours needs --out (the PNG to write)"))
	}
	if !strings.EqualFold(filepath.Ext(c.out), ".png") {
		return usage(fmt.Errorf("--out %s: want a .png file", c.out))
	}
	ds, err := c.loadDataset(stderr)
	if err != nil {
		return err
	}
	e, err := c.embedder()
	if err != nil {
		return err
	}
	defer e.Close()
	seed, err := c.subsetSeed()
	if err != nil {
		return err
	}
	split := func(name string) (int, error) {
		sp, err := ds.Split(name)
		if err != nil {
			return 0, err
		}
		return sp.NumExamples(), nil
	}
	nq, err := split(c.split)
	if err != nil {
		return err
	}
	ng, err := split(c.trainSplit)
	if err != nil {
		return err
	}
	if c.queries > nq {
		return c.flagError(setting.Errorf("queries", c.queries, "above the %d examples of split %s", nq, c.split))
	}
	limit := 0
	if c.fs.Changed("knn-limit") {
		limit = c.pretrain.KNNLimit
	}
	bar := newLazyBar(c, stderr, false)
	gallery, err := inspect.Embed(c.ctx, e, ds, c.trainSplit, inspect.Subset(ng, limit, seed, inspect.PurposeKNN, c.trainSplit),
		inspect.EmbedOptions{Batch: c.batchSize, Progress: bar.images("features of " + c.trainSplit)})
	bar.finish()
	if err != nil {
		return err
	}
	if c.neighbourCount > gallery.Data.Len() {
		return c.flagError(setting.Errorf("neighbours", c.neighbourCount, "above the %d examples searched in split %s", gallery.Data.Len(), c.trainSplit))
	}
	queries, err := inspect.Embed(c.ctx, e, ds, c.split, inspect.Subset(nq, c.queries, seed, inspect.PurposeNeighbours, c.split),
		inspect.EmbedOptions{Batch: c.batchSize, KeepImages: true})
	if err != nil {
		return err
	}
	for _, x := range []inspect.Examples{queries, gallery} {
		if i := slices.Index(x.Data.Labels, -1); i >= 0 {
			return fmt.Errorf("nnclr: neighbours: split %s of %s has no labels (example %d): the sheet compares classes", x.Split, ds.Info.Name, x.Indices[i])
		}
	}
	res, err := neighbours.Find(queries.Data, gallery.Data, queries.Indices, gallery.Indices, c.neighbourCount)
	if err != nil {
		return err
	}
	sheet := neighbours.Sheet{Result: res, Shape: queries.Shape, ClassNames: ds.Features.Label.Names,
		Title: fmt.Sprintf("%s: %s queries | nearest in %s", c.pretrain.Dataset, c.split, c.trainSplit)}
	for i, q := range res.Queries {
		sheet.QueryImages = append(sheet.QueryImages, queries.Image(i))
		idx := make([]int, len(q.Neighbours))
		for j, nb := range q.Neighbours {
			idx[j] = nb.Index
		}
		pix, _, s, err := inspect.Images(ds, c.trainSplit, idx, queries.Shape)
		if err != nil {
			return err
		}
		if s != queries.Shape {
			return fmt.Errorf("nnclr: neighbours: split %s has images of %v, split %s of %v: want one shape", c.split, queries.Shape, c.trainSplit, s)
		}
		var row [][]byte
		for j := range idx {
			row = append(row, pix[j*s.Size():(j+1)*s.Size()])
		}
		sheet.NeighbourImages = append(sheet.NeighbourImages, row)
	}
	if err := c.ctx.Err(); err != nil {
		return err
	}
	img, err := neighbours.Draw(sheet)
	if err != nil {
		return err
	}
	details := strings.TrimSuffix(c.out, filepath.Ext(c.out)) + ".json"
	b, _ := json.MarshalIndent(struct {
		Format          string `json:"format"`
		Version         int    `json:"version"`
		QuerySplit      string `json:"query_split"`
		GallerySplit    string `json:"gallery_split"`
		GalleryExamples int    `json:"gallery_examples"`
		neighbours.Result
	}{"nnclr-neighbours", 1, c.split, c.trainSplit, gallery.Data.Len(), res}, "", "  ")
	if err := atomicfile.Write(details, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err }); err != nil {
		return fmt.Errorf("nnclr: neighbours: %w", err)
	}
	if err := neighbours.WritePNG(c.out, img); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "neighbours: %d queries of %s/%s, %d nearest each among %d examples of %s by cosine similarity\n",
		len(res.Queries), c.pretrain.Dataset, c.split, c.neighbourCount, gallery.Data.Len(), c.trainSplit)
	fmt.Fprintf(stdout, "same class: %d of %d drawn neighbours (%.4f)\n", res.SameClass, res.Drawn, res.Fraction)
	fmt.Fprintf(stdout, "sheet: %s (%dx%d), details: %s\n", c.out, img.Bounds().Dx(), img.Bounds().Dy(), details)
	return nil
}
