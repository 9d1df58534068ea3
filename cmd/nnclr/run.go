package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/nnclr/nnclr/embed"
	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/internal/interrupt"
	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/loader"
	rundir "github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tfgraph"
)

// version is the nnclr version; release builds set it with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// run is the whole program behind main: it parses args, runs the mode and writes to stdout and
// stderr. It returns errHelp after --help and an *exitError of code 2 for bad flags.
func run(args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	var stop func()
	c.ctx, c.signal, stop = interrupt.Listen("nnclr", stderr)
	defer stop()
	modes := map[string]func(*cli, io.Writer, io.Writer) error{"info": runInfo, "prepare": runPrepare,
		"pretrain": runPretrain, "evaluate": runEvaluate, "embed": runEmbed, "export": runExport, "neighbours": runNeighbours}
	err = modes[c.mode](c, stdout, stderr)
	if sig := c.signal(); sig != nil && err != nil {
		return interrupted(sig, err)
	}
	if errors.Is(err, loader.ErrNotFound) && c.noPrepare {
		err = fmt.Errorf("%w: write it with --mode prepare, or drop --no-prepare", err)
	}
	return c.flagError(err)
}

func runInfo(c *cli, w, _ io.Writer) error {
	if c.model != "" {
		infos, err := savedmodel.Read(c.model)
		if err != nil {
			return err
		}
		return savedmodel.Describe(w, infos)
	}
	sc, err := c.pretrain.Session()
	if err != nil {
		return err
	}
	devs, err := tfgraph.ListDevices(sc)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "nnclr      %s\n", version)
	fmt.Fprintf(w, "tensorflow %s\n", tfgraph.RuntimeVersion())
	fmt.Fprintf(w, "graft      %s\n", moduleVersion("github.com/wamuir/graft"))
	precs, err := tfgraph.SupportedPrecisions(sc)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "precisions %v (CPU: %s)\n", precs, tfgraph.HostCPUFeatures())
	fmt.Fprintf(w, "devices (--device %s):\n", sc.Device)
	for _, d := range devs {
		mem := "unknown"
		if d.MemoryBytes >= 0 {
			mem = fmt.Sprintf("%d MiB", d.MemoryBytes>>20)
		}
		fmt.Fprintf(w, "  %-45s %-4s memory %s\n", d.Name, d.Type, mem)
	}
	return nil
}

// moduleVersion returns the version of module path linked into this binary.
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path && d.Replace != nil {
				return d.Replace.Version
			} else if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}

func runPrepare(c *cli, stdout, stderr io.Writer) error {
	prep, finish := c.prepareOptions(stderr)
	ds, wrote, err := loader.Prepare(c.ctx, c.pretrain.DataDir, c.pretrain.Dataset, prep)
	finish()
	if err != nil {
		return err
	}
	if !wrote {
		fmt.Fprintf(stdout, "%s is already prepared (--overwrite writes it again)\n", ds.Dir)
		return nil
	}
	fmt.Fprintf(stdout, "wrote %s\n", ds.Dir)
	for _, s := range ds.SplitNames() {
		sp, err := ds.Split(s)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %-10s %7d examples\n", s, sp.NumExamples())
	}
	return nil
}

// prepareOptions are the flags of --mode prepare (also used when another mode prepares a
// missing dataset), with progress bars on stderr; the function returned ends them.
func (c *cli) prepareOptions(stderr io.Writer) (loader.PrepareOptions, func()) {
	prog, dl := newLazyBar(c, stderr, false), newLazyBar(c, stderr, true)
	return loader.PrepareOptions{Source: c.source, Limit: c.limit, DownloadURL: c.downloadURL, SHA256: c.sha256,
		Writer:           loader.WriterOptions{Progress: prog, Overwrite: c.overwrite, Workers: c.pretrain.Workers},
		DownloadProgress: func(done, total int64) { dl.set("downloading STL-10", done, total) }}, func() { dl.finish(); prog.finish() }
}

// loadDataset opens --dataset and, unless --no-prepare, prepares it first when it is missing.
func (c *cli) loadDataset(stderr io.Writer) (*loader.Dataset, error) {
	prep, finish := c.prepareOptions(stderr)
	defer finish()
	return loader.Load(c.ctx, c.pretrain.DataDir, c.pretrain.Dataset, loader.LoadOptions{Prepare: !c.noPrepare, PrepareOptions: prep})
}

// openRun opens --run-dir at --checkpoint for export, embed and evaluate.
func (c *cli) openRun() (*rundir.Run, error) {
	if c.runDir == "" {
		return nil, usage(fmt.Errorf("--mode %s needs --run-dir (a pretraining run)", c.mode))
	}
	return rundir.Open(c.runDir, c.checkpoint)
}

func runExport(c *cli, stdout, _ io.Writer) error {
	if c.out == "" {
		return usage(errors.New("--mode export needs --out (the SavedModel directory to write)"))
	}
	sc, err := c.pretrain.Session()
	if err != nil {
		return err
	}
	r, err := c.openRun()
	if err != nil {
		return err
	}
	if err := r.Export(c.out, savedmodel.ExportOptions{Overwrite: c.overwrite, Session: sc}); err != nil {
		return err
	}
	m := r.Model
	fmt.Fprintf(stdout, "exported %s (checkpoint %s) to %s: signature %s, input images uint8 [N,%d,%d,%d], outputs embedding [N,%d], logits and probabilities [N,%d]\n",
		c.runDir, r.Checkpoint, c.out, savedmodel.DefaultSignature, m.Height, m.Width, m.Channels, m.ModelWidth, m.NumClasses)
	return nil
}

// embedder opens --model (a SavedModel) or --run-dir (a Go run) for embed and evaluate.
func (c *cli) embedder() (embed.Embedder, error) {
	sc, err := c.pretrain.Session()
	if err != nil {
		return nil, err
	}
	switch {
	case c.model != "" && c.runDir != "":
		return nil, usage(errors.New("give --model (a SavedModel) or --run-dir (a Go run), not both"))
	case c.model != "":
		o := c.savedModel
		o.Session = sc
		if c.fs.Changed("image-size") {
			o.ImageSize = c.pretrain.ImageSize
		}
		o.Channels = c.pretrain.Channels
		return embed.OpenSavedModel(c.model, o)
	case c.runDir != "":
		r, err := c.openRun()
		if err != nil {
			return nil, err
		}
		return r.Embedder(sc)
	}
	return nil, usage(fmt.Errorf("--mode %s needs --model (a SavedModel) or --run-dir (a Go run)", c.mode))
}

func runEmbed(c *cli, stdout, stderr io.Writer) error {
	if c.out == "" {
		return usage(errors.New("--mode embed needs --out (the .npz file to write)"))
	}
	if _, err := c.projectorLogdir(); err != nil {
		return err
	}
	e, err := c.embedder()
	if err != nil {
		return err
	}
	defer e.Close()
	ds, err := c.loadDataset(stderr)
	if err != nil {
		return err
	}
	bar := newLazyBar(c, stderr, false)
	s, err := embed.Features(c.ctx, e, ds, c.split, c.batchSize, bar.images("embedding "+c.split))
	bar.finish()
	if err != nil {
		return err
	}
	if err := npy.WriteNPZ(c.out, map[string]npy.Array{
		"embeddings": {Shape: []int{s.Len(), s.Dim}, Data: s.Features},
		"labels":     {Shape: []int{s.Len()}, Data: s.Labels},
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "embedded %d images of %s/%s into %d dimensions: %s\n", s.Len(), c.pretrain.Dataset, c.split, s.Dim, c.out)
	return c.writeProjector(e, ds, c.split, stdout, stderr)
}

func runEvaluate(c *cli, stdout, stderr io.Writer) error {
	cfg := evaluate.DefaultConfig()
	cfg.RunKNN, cfg.RunLinear = false, false
	for _, p := range strings.Split(c.protocols, ",") {
		switch strings.TrimSpace(p) {
		case "knn":
			cfg.RunKNN = true
		case "linear":
			cfg.RunLinear = true
		default:
			return usage(fmt.Errorf("--protocols %q: want linear, knn or linear,knn", c.protocols))
		}
	}
	cfg.KNN = c.knn
	cfg.KNN.Workers = c.pretrain.Workers
	cfg.Linear.Train.Epochs, cfg.Linear.Train.Seed = c.linearEpochs, rundir.DeriveSeeds(c.pretrain.Seed).Model
	sc, err := c.pretrain.Session()
	if err != nil {
		return err
	}
	if _, err := c.projectorLogdir(); err != nil {
		return err
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
	var splits [2]evaluate.Split
	bar := newLazyBar(c, stderr, false)
	if c.fs.Changed("knn-limit") {
		// The kNN monitor's examples: seeded subsets of both splits, in batches of its size.
		seed, err := c.subsetSeed()
		if err != nil {
			return err
		}
		splits[0], splits[1], err = rundir.KNNSplits(c.ctx, e, ds, c.trainSplit, c.pretrain.TestSplit, c.pretrain.KNNLimit, seed,
			func(split string, done, total int) { bar.set("features of "+split, int64(done), int64(total)) })
		bar.finish()
		if err != nil {
			return err
		}
	}
	for i, name := range []string{c.trainSplit, c.pretrain.TestSplit} {
		if c.fs.Changed("knn-limit") {
			break
		}
		splits[i], err = embed.LabelledFeatures(c.ctx, e, ds, name, c.batchSize, bar.images("features of "+name))
		bar.finish()
		if err != nil {
			return err
		}
	}
	if err := c.ctx.Err(); err != nil {
		return err
	}
	res, err := evaluate.Evaluate(splits[0], splits[1], ds.Features.Label.NumClasses, cfg, sc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s", c.pretrain.Dataset, res.Summary())
	if c.out != "" {
		if err := writeJSON(c.out, res); err != nil {
			return err
		}
	}
	if err := c.writeProjector(e, ds, c.pretrain.TestSplit, stdout, stderr); err != nil {
		return err
	}
	if c.runDir != "" && c.model == "" {
		r, err := c.openRun()
		if err != nil {
			return err
		}
		return r.RecordEvaluation(res)
	}
	return nil
}
