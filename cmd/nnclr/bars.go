package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/nnclr/nnclr/internal/atomicfile"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/train"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newBar returns a progress bar on w for total units (bytes when bytes is set) that ends its line
// when complete; all of nnclr's bars look alike.
func newBar(w io.Writer, total int64, desc string, width int, bytes bool) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(), progressbar.OptionShowBytes(bytes), progressbar.OptionSetWidth(width),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
}

// epochBar is a progress bar per epoch on stderr showing the running metrics.
type epochBar struct {
	w      io.Writer
	epochs int
	steps  int
	bar    *progressbar.ProgressBar
	epoch  int
}

func (b *epochBar) onStep(s train.StepInfo) {
	if b.bar == nil || s.Epoch != b.epoch {
		b.finish()
		b.epoch = s.Epoch
		b.bar = newBar(b.w, int64(b.steps), fmt.Sprintf("epoch %d/%d", s.Epoch+1, b.epochs), 20, false)
		b.bar.Set(s.Step - 1)
	}
	b.bar.Describe(fmt.Sprintf("epoch %d/%d %s %.0f img/s", s.Epoch+1, b.epochs, metricsText(s.Metrics, "%.3f"), float64(s.Images)/s.Duration.Seconds()))
	b.bar.Set(s.Step)
}

// metricsText is a step's metrics as "c_loss L c_acc A r_acc R p_loss L p_acc A" (the losses
// with %.4f, the accuracies with acc), without the probe's for a model without a probe.
func metricsText(m tfgraph.Metrics, acc string) string {
	s := fmt.Sprintf("c_loss %.4f c_acc "+acc+" r_acc "+acc, m.CLoss, m.CAcc, m.RAcc)
	if m.Probe {
		s += fmt.Sprintf(" p_loss %.4f p_acc "+acc, m.PLoss, m.PAcc)
	}
	return s
}

func (b *epochBar) finish() {
	if b.bar != nil {
		b.bar.Finish()
		b.bar = nil
	}
}

// lazyBar is a progress bar drawn on first use, only when on (stderr is a terminal and --quiet
// is not set); a new description starts a new bar. It serves prepare (a bar per split written
// and the download's bytes), embed and evaluate.
type lazyBar struct {
	w     io.Writer
	on    bool
	bytes bool
	desc  string
	bar   *progressbar.ProgressBar
}

func newLazyBar(c *cli, stderr io.Writer, bytes bool) *lazyBar {
	return &lazyBar{w: stderr, on: !c.quiet && isTerminal(stderr), bytes: bytes}
}

func (b *lazyBar) set(desc string, done, total int64) {
	if !b.on {
		return
	}
	if b.bar == nil || desc != b.desc {
		b.finish()
		b.desc, b.bar = desc, newBar(b.w, total, desc, 30, b.bytes)
	}
	b.bar.Set64(done)
}

// Progress reports a split being written (loader.Progress).
func (b *lazyBar) Progress(split string, done, total int) {
	b.set("writing "+split, int64(done), int64(total))
}

// images returns a progress callback for what (embed.Features).
func (b *lazyBar) images(what string) func(done, total int) {
	return func(done, total int) { b.set(what, int64(done), int64(total)) }
}

func (b *lazyBar) finish() {
	if b.bar != nil {
		b.bar.Finish()
		b.bar = nil
	}
}

// writeJSON writes v as indented JSON to path, atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}
