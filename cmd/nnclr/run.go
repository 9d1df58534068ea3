package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"

	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	"github.com/nnclr/nnclr/savedmodel"

	"github.com/nnclr/nnclr/tfgraph"
)

// version is the nnclr version; release builds set it with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// run is the whole program behind main: it parses args, runs the mode and writes to stdout and
// stderr. It returns errHelp after --help and a *usageError for bad flags.
func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	switch cfg.Mode {
	case "info":
		return runInfo(cfg, stdout)
	case "evaluate":
		return runEvaluate(cfg, stdout, stderr)
	case "embed":
		return runEmbed(cfg, stdout, stderr)
	case "export":
		return runExport(cfg, stdout)
	case "prepare":
		return runPrepare(cfg, stdout, stderr)
	case "pretrain":
		return runPretrain(cfg, stdout, stderr)
	default:
		return fmt.Errorf("mode %s is not implemented yet", cfg.Mode)
	}
}

func (c Config) sessionConfig() (tfgraph.SessionConfig, error) {
	dev, err := tfgraph.ParseDevice(c.Device)
	if err != nil {
		return tfgraph.SessionConfig{}, &usageError{fmt.Errorf("--device: %w", err)}
	}
	return tfgraph.SessionConfig{Device: dev, IntraOpThreads: c.IntraOpThreads, InterOpThreads: c.InterOpThreads, XLA: c.XLA}, nil
}

func runInfo(c Config, w io.Writer) error {
	if c.Model != "" {
		return modelInfo(c.Model, w)
	}
	sc, err := c.sessionConfig()
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
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
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
