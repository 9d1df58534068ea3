package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// Modes lists the values of --mode, in the order --help shows them.
var modes = []string{"info", "prepare", "pretrain", "evaluate", "embed", "export"}

// Config is the parsed command line.
type Config struct {
	Mode    string
	Seed    int64
	Device  string
	Quiet   bool
	DataDir string
	Dataset string
	RunDir  string
	Model   string

	IntraOpThreads int
	InterOpThreads int
}

// usageError is a bad flag or flag value; the process exits with code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

var errHelp = errors.New("help requested")

func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// parseFlags parses args into a Config. --help prints the usage to out and returns errHelp.
func parseFlags(args []string, out io.Writer) (Config, error) {
	var c Config
	fs := pflag.NewFlagSet("nnclr", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&c.Mode, "mode", "info", "what to do: "+strings.Join(modes, ", "))
	fs.Int64Var(&c.Seed, "seed", 0, "seed of every random draw (data order, augmentation, initial weights)")
	fs.StringVar(&c.Device, "device", "auto", "device for TensorFlow: auto, cpu, gpu or gpu:N")
	fs.IntVar(&c.IntraOpThreads, "intra-op-threads", 0, "TensorFlow intra-op threads (0: one per core)")
	fs.IntVar(&c.InterOpThreads, "inter-op-threads", 0, "TensorFlow inter-op threads (0: TensorFlow's choice)")
	fs.StringVar(&c.DataDir, "data-dir", "", "tfds data dir (default $TFDS_DATA_DIR, else ~/tensorflow_datasets)")
	fs.StringVar(&c.Dataset, "dataset", "stl10", "dataset name, optionally with version (stl10:1.0.0)")
	fs.StringVar(&c.RunDir, "run-dir", "", "run directory: checkpoints, metrics.jsonl, TensorBoard files")
	fs.StringVar(&c.Model, "model", "", "SavedModel directory (info, embed, evaluate)")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress bar")
	help := fs.BoolP("help", "h", false, "show this help")
	usage := func() {
		fmt.Fprintf(out, "Usage: nnclr --mode %s [flags]\n\nFlags:\n", strings.Join(modes, "|"))
		writeFlagUsages(out, fs)
	}
	if err := fs.Parse(args); err != nil {
		return c, &usageError{fmt.Errorf("%w (see nnclr --help)", err)}
	}
	if *help {
		usage()
		return c, errHelp
	}
	if fs.NArg() > 0 {
		return c, &usageError{fmt.Errorf("unexpected argument %q: nnclr takes flags only (see nnclr --help)", fs.Arg(0))}
	}
	return c, c.Validate()
}

// Validate checks the flag values that do not need a dataset or a runtime.
func (c Config) Validate() error {
	known := false
	for _, m := range modes {
		known = known || c.Mode == m
	}
	if !known {
		return &usageError{fmt.Errorf("unknown --mode %q: valid modes are %s", c.Mode, strings.Join(modes, ", "))}
	}
	if c.IntraOpThreads < 0 {
		return &usageError{fmt.Errorf("--intra-op-threads %d: want >= 0", c.IntraOpThreads)}
	}
	if c.InterOpThreads < 0 {
		return &usageError{fmt.Errorf("--inter-op-threads %d: want >= 0", c.InterOpThreads)}
	}
	return nil
}

// writeFlagUsages lists every flag with its type, meaning and default, zero defaults included.
func writeFlagUsages(w io.Writer, fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		name := "--" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + ", " + name
		}
		typ := f.Value.Type()
		if typ == "bool" {
			typ = ""
		}
		fmt.Fprintf(w, "  %-28s %s (default %q)\n", strings.TrimSpace(name+" "+typ), f.Usage, f.DefValue)
	})
}
