package main

import (
	"fmt"
	"io"
	"runtime/debug"

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
	return tfgraph.SessionConfig{Device: dev, IntraOpThreads: c.IntraOpThreads, InterOpThreads: c.InterOpThreads}, nil
}

func runInfo(c Config, w io.Writer) error {
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
