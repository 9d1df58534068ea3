package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/nnclr/nnclr/embed"
	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/internal/interrupt"
	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/loader"
	rundir "github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tfrun"
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
	devs, err := tfrun.ListDevices(sc)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "nnclr      %s\n", version)
	fmt.Fprintf(w, "tensorflow %s\n", tfrun.RuntimeVersion())
	fmt.Fprintf(w, "graft      %s\n", moduleVersion("github.com/wamuir/graft"))
	cl, err := c.clusterOf()
	if err != nil {
		return err
	}
	if cl != nil {
		fmt.Fprintf(w, "cluster    %s\n", cl.Describe())
	}
	precs, err := tfrun.SupportedPrecisions(sc)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "precisions %v (CPU: %s)\n", precs, tfrun.HostCPUFeatures())
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

// moduleVersion returns the version of module path linked into this binary: for a module
// replaced by a directory of the project (graft, patched in third_party/graft), the version it
// stands in for and that directory.
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch {
			case d.Path != path:
			case d.Replace != nil && strings.HasPrefix(d.Replace.Path, "./"):
				return fmt.Sprintf("%s (patched, %s)", d.Version, strings.TrimSuffix(strings.TrimPrefix(d.Replace.Path, "./"), "/src"))
			case d.Replace != nil:
				return d.Replace.Version
			default:
				return d.Version
			}
		}
	}
	return "unknown"
}

func runPrepare(c *cli, stdout, stderr io.Writer) error {
	prep, finish := c.prepareOptions(stderr)
	if loader.IsFolder(c.pretrain.Dataset, prep) {
		if c.source == "" {
			finish()
			return usage(fmt.Errorf("--dataset %s: not one of the known datasets %v: give --source DIR to prepare it from a folder of your images", c.pretrain.Dataset, loader.KnownDatasets()))
		}
		rep, err := loader.ImportFolder(c.ctx, c.pretrain.DataDir, c.pretrain.Dataset, prep.FolderOptions())
		finish()
		if err != nil {
			return err
		}
		printFolderReport(stdout, rep, c.verbose)
		return nil
	}
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
	folder := c.folder
	folder.Seed = uint64(c.pretrain.Seed)
	return loader.PrepareOptions{Source: c.source, Limit: c.limit, DownloadURL: c.downloadURL, SHA256: c.sha256,
		SourceFormat: c.sourceFormat, Folder: folder,
		Writer:           loader.WriterOptions{Progress: prog, Overwrite: c.overwrite, Workers: c.pretrain.Workers},
		DownloadProgress: func(done, total int64) { dl.set("downloading STL-10", done, total) }}, func() { dl.finish(); prog.finish() }
}

// runDataset takes, with --run-dir and no --dataset, the run's dataset from its run.json, and
// its data dir unless --data-dir is given.
func (c *cli) runDataset() error {
	if c.runDir == "" || c.fs.Changed("dataset") {
		return nil
	}
	cfg, err := rundir.ReadConfig(c.runDir)
	if err != nil {
		return err
	}
	c.pretrain.Dataset = cfg.Dataset
	if !c.fs.Changed("data-dir") {
		c.pretrain.DataDir = cfg.DataDir
	}
	return nil
}

// loadDataset opens --dataset (with --run-dir and no --dataset, the run's: runDataset) and,
// unless --no-prepare, prepares it first when it is missing.
func (c *cli) loadDataset(stderr io.Writer) (*loader.Dataset, error) {
	if err := c.runDataset(); err != nil {
		return nil, err
	}
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
	outputs := fmt.Sprintf("embedding [N,%d], logits and probabilities [N,%d]", m.FeatureWidth(), m.NumClasses)
	if !m.HasProbe() {
		outputs = fmt.Sprintf("embedding [N,%d] only (the run was trained without labels: no probe, no logits or probabilities)", m.FeatureWidth())
	}
	fmt.Fprintf(stdout, "exported %s (checkpoint %s) to %s: signature %s, input images uint8 [N,%d,%d,%d], outputs %s\n",
		c.runDir, r.Checkpoint, c.out, savedmodel.DefaultSignature, m.Height, m.Width, m.Channels, outputs)
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
	if !ds.HasLabels() {
		return fmt.Errorf("evaluate: dataset %s has no labelled split (only %s: unlabelled images, label -1): linear and kNN evaluation need a labelled --train-split and --test-split; embed works on it",
			ds.Info.Name, strings.Join(ds.SplitNames(), ", "))
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

// printFolderReport prints what the import of an image folder found and did.
func printFolderReport(w io.Writer, rep *loader.FolderReport, verbose bool) {
	if rep.Unchanged {
		fmt.Fprintf(w, "%s is already prepared from the same files and options: nothing to do (--overwrite writes it again)\n", rep.Dir)
		return
	}
	fmt.Fprintf(w, "wrote %s (layout %s, %d classes, %d-channel images of their own sizes)\n", rep.Dir, rep.Layout, len(rep.ClassNames), rep.Channels)
	for _, s := range slices.Sorted(maps.Keys(rep.Splits)) {
		fmt.Fprintf(w, "  %-10s %7d examples\n", s, rep.Splits[s])
	}
	if len(rep.ClassNames) > 0 {
		fmt.Fprintf(w, "  labels: %s\n", strings.Join(rep.ClassNames, ", "))
	}
	fmt.Fprintf(w, "  images: %d stored as given, %d converted to PNG, %d resized (--max-side)\n", rep.Stored, rep.Converted, rep.Resized)
	if n := len(rep.NotImages); n > 0 {
		fmt.Fprintf(w, "  skipped %d files that are not images by name (.DS_Store, ._*, other extensions)%s\n", n, moreWithVerbose(verbose))
		if verbose {
			for _, f := range rep.NotImages {
				fmt.Fprintf(w, "    %s\n", f)
			}
		}
	}
	if n := len(rep.SymlinkedDirs); n > 0 {
		fmt.Fprintf(w, "  did not follow %d symbolic links to folders%s\n", n, moreWithVerbose(verbose))
		if verbose {
			for _, f := range rep.SymlinkedDirs {
				fmt.Fprintf(w, "    %s\n", f)
			}
		}
	}
	if n := len(rep.Skipped); n > 0 {
		fmt.Fprintf(w, "  skipped %d unreadable or corrupt images, listed in %s (--strict makes them an error)\n", n, filepath.Join(rep.Dir, loader.SkippedFile))
		if verbose {
			for _, s := range rep.Skipped {
				fmt.Fprintf(w, "    %s: %s\n", s.Path, s.Reason)
			}
		}
	}
}

func moreWithVerbose(verbose bool) string {
	if verbose {
		return ":"
	}
	return " (--verbose lists them)"
}
