package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"

	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	"github.com/nnclr/nnclr/embed"
	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/loader"
	rundir "github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tfgraph"
)

// version is the nnclr version; release builds set it with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// run is the whole program behind main: it parses args, runs the mode and writes to stdout and
// stderr. It returns errHelp after --help and a *usageError for bad flags.
func run(args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	modes := map[string]func(*cli, io.Writer, io.Writer) error{"info": runInfo, "prepare": runPrepare,
		"pretrain": runPretrain, "evaluate": runEvaluate, "embed": runEmbed, "export": runExport}
	err = modes[c.mode](c, stdout, stderr)
	if errors.Is(err, loader.ErrNotFound) {
		err = fmt.Errorf("%w; write one with --mode prepare", err)
	}
	return c.flagError(err)
}

func runInfo(c *cli, w, _ io.Writer) error {
	if c.model != "" {
		return modelInfo(c.model, w)
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

// modelInfo prints a SavedModel's tags, signatures and variables from its saved_model.pb.
func modelInfo(dir string, w io.Writer) error {
	infos, err := savedmodel.Read(dir)
	if err != nil {
		return err
	}
	for _, in := range infos {
		fmt.Fprintf(w, "MetaGraph tags %v\n", in.Tags)
		for _, s := range in.Signatures {
			fmt.Fprintf(w, "  signature %q (%s)\n", s.Key, s.Method)
			for _, side := range []struct {
				what string
				ts   []savedmodel.NamedTensor
			}{{"input", s.Inputs}, {"output", s.Outputs}} {
				for _, t := range side.ts {
					fmt.Fprintf(w, "    %-6s %-16s %-8s %-16s tensor %s\n", side.what, t.Key, dtypeName(t.DType), shapeString(t.Shape), t.Name)
				}
			}
		}
		params := int64(0)
		for _, v := range in.Variables {
			n := int64(1)
			for _, d := range v.Shape {
				n *= d
			}
			params += n
		}
		fmt.Fprintf(w, "  variables: %d, %d parameters\n", len(in.Variables), params)
		for _, v := range in.Variables {
			fmt.Fprintf(w, "    %-48s %s\n", v.Name, shapeString(v.Shape))
		}
	}
	return nil
}

func dtypeName(t typespb.DataType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "DT_"))
}

func shapeString(s []int64) string {
	if s == nil {
		return "unknown"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(d, 10)
		if d < 0 {
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func runPrepare(c *cli, stdout, stderr io.Writer) error {
	dataDir := c.pretrain.DataDir
	if dataDir == "" {
		dataDir = loader.DefaultDataDir()
	}
	prog, dl := newLazyBar(c, stderr, false), newLazyBar(c, stderr, true)
	opts := loader.PrepareOptions{Source: c.source, Limit: c.limit, DownloadURL: c.downloadURL, SHA256: c.sha256,
		Writer:           loader.WriterOptions{Progress: prog, Overwrite: c.overwrite, Workers: c.pretrain.Workers},
		DownloadProgress: func(done, total int64) { dl.set("downloading STL-10", done, total) }}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ds, err := loader.Prepare(ctx, dataDir, c.pretrain.Dataset, opts)
	dl.finish()
	prog.finish()
	if err != nil {
		return err
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

// openRun opens --run-dir at --checkpoint for export, embed and evaluate.
func (c *cli) openRun() (*rundir.Run, error) {
	if c.runDir == "" {
		return nil, &usageError{fmt.Errorf("--mode %s needs --run-dir (a pretraining run)", c.mode)}
	}
	return rundir.Open(c.runDir, c.checkpoint)
}

func runExport(c *cli, stdout, _ io.Writer) error {
	if c.out == "" {
		return &usageError{errors.New("--mode export needs --out (the SavedModel directory to write)")}
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
		return nil, &usageError{errors.New("give --model (a SavedModel) or --run-dir (a Go run), not both")}
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
	return nil, &usageError{fmt.Errorf("--mode %s needs --model (a SavedModel) or --run-dir (a Go run)", c.mode)}
}

func runEmbed(c *cli, stdout, stderr io.Writer) error {
	if c.out == "" {
		return &usageError{errors.New("--mode embed needs --out (the .npz file to write)")}
	}
	e, err := c.embedder()
	if err != nil {
		return err
	}
	defer e.Close()
	ds, err := rundir.OpenDataset(c.pretrain.DataDir, c.pretrain.Dataset)
	if err != nil {
		return err
	}
	bar := newLazyBar(c, stderr, false)
	s, err := embed.Features(e, ds, c.split, c.batchSize, bar.images("embedding "+c.split))
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
	return nil
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
			return &usageError{fmt.Errorf("--protocols %q: want linear, knn or linear,knn", c.protocols)}
		}
	}
	cfg.KNN = c.knn
	cfg.KNN.Workers = c.pretrain.Workers
	cfg.Linear.Train.Epochs, cfg.Linear.Train.Seed = c.linearEpochs, rundir.DeriveSeeds(c.pretrain.Seed).Model
	sc, err := c.pretrain.Session()
	if err != nil {
		return err
	}
	ds, err := rundir.OpenDataset(c.pretrain.DataDir, c.pretrain.Dataset)
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
	for i, name := range []string{c.trainSplit, c.pretrain.TestSplit} {
		splits[i], err = embed.LabelledFeatures(e, ds, name, c.batchSize, bar.images("features of "+name))
		bar.finish()
		if err != nil {
			return err
		}
	}
	res, err := evaluate.Evaluate(splits[0], splits[1], ds.Features.Label.NumClasses, cfg, sc)
	if err != nil {
		return err
	}
	if res.LinearTop1 != nil {
		fmt.Fprintf(stdout, "linear top-1 %.4f", *res.LinearTop1)
		if res.LinearTop5 != nil {
			fmt.Fprintf(stdout, "  top-5 %.4f", *res.LinearTop5)
		}
		fmt.Fprintf(stdout, "  (%d epochs of Adam on standardized features)\n", res.LinearEpochs)
	}
	if res.KNNTop1 != nil {
		fmt.Fprintf(stdout, "kNN    top-1 %.4f", *res.KNNTop1)
		if res.KNNTop5 != nil {
			fmt.Fprintf(stdout, "  top-5 %.4f", *res.KNNTop5)
		}
		fmt.Fprintf(stdout, "  (k %d, T %g)\n", res.K, res.Temperature)
	}
	fmt.Fprintf(stdout, "%d train and %d test examples of %s, %d-dimensional features, %d classes\n",
		res.TrainCount, res.TestCount, c.pretrain.Dataset, res.FeatureDim, res.Classes)
	if c.out != "" {
		if err := writeJSON(c.out, res); err != nil {
			return err
		}
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
