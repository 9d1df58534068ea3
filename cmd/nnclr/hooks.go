package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/nnclr/nnclr/tboard"
	"github.com/nnclr/nnclr/train"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// jsonlLog appends one JSON object per event to RUN_DIR/metrics.jsonl.
type jsonlLog struct {
	mu  sync.Mutex
	f   *os.File
	enc *json.Encoder
	err error
}

func openJSONL(path string) (*jsonlLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metrics log: %w", err)
	}
	return &jsonlLog{f: f, enc: json.NewEncoder(f)}, nil
}

func (l *jsonlLog) write(v any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = l.enc.Encode(v)
	}
}

func (l *jsonlLog) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if l.err != nil {
		return fmt.Errorf("metrics log: %w", l.err)
	}
	return err
}

type stepRecord struct {
	Type            string  `json:"type"`
	Epoch           int     `json:"epoch"`
	Step            int     `json:"step"`
	GlobalStep      int64   `json:"global_step"`
	CLoss           float64 `json:"c_loss"`
	CAcc            float64 `json:"c_acc"`
	RAcc            float64 `json:"r_acc"`
	PLoss           float64 `json:"p_loss"`
	PAcc            float64 `json:"p_acc"`
	Seconds         float64 `json:"seconds"`
	SessionSeconds  float64 `json:"session_seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
}

type validationRecord struct {
	Type       string  `json:"type"`
	Epoch      int     `json:"epoch"`
	GlobalStep int64   `json:"global_step"`
	PLoss      float64 `json:"val_p_loss"`
	PAcc       float64 `json:"val_p_acc"`
	Examples   int     `json:"examples"`
}

func (l *jsonlLog) onStep(s train.StepInfo) {
	sec := s.Duration.Seconds()
	l.write(stepRecord{Type: "step", Epoch: s.Epoch + 1, Step: s.Step, GlobalStep: s.GlobalStep,
		CLoss: s.Metrics.CLoss, CAcc: s.Metrics.CAcc, RAcc: s.Metrics.RAcc, PLoss: s.Metrics.PLoss, PAcc: s.Metrics.PAcc,
		Seconds: sec, SessionSeconds: s.SessionRunTime.Seconds(), ImagesPerSecond: float64(s.Images) / sec})
}

func (l *jsonlLog) onValidation(v train.Validation) {
	l.write(validationRecord{Type: "validation", Epoch: v.Epoch + 1, GlobalStep: v.GlobalStep, PLoss: v.Loss, PAcc: v.Acc, Examples: v.Examples})
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
		if b.bar != nil {
			b.bar.Finish()
		}
		b.epoch = s.Epoch
		b.bar = newBar(b.w, int64(b.steps), fmt.Sprintf("epoch %d/%d", s.Epoch+1, b.epochs), 20, false)
		b.bar.Set(s.Step - 1)
	}
	m := s.Metrics
	b.bar.Describe(fmt.Sprintf("epoch %d/%d c_loss %.4f c_acc %.3f r_acc %.3f p_loss %.4f p_acc %.3f %.0f img/s",
		s.Epoch+1, b.epochs, m.CLoss, m.CAcc, m.RAcc, m.PLoss, m.PAcc, float64(s.Images)/s.Duration.Seconds()))
	b.bar.Set(s.Step)
}

func (b *epochBar) finish() {
	if b.bar != nil {
		b.bar.Finish()
		b.bar = nil
	}
}

// tbLog writes the run's metrics as TensorBoard scalars: train/<metric> per step and
// val/<metric> per epoch, at the global step.
type tbLog struct {
	w   *tboard.Writer
	err error
}

func (t *tbLog) scalar(tag string, step int64, v float64) {
	if t.err == nil {
		t.err = t.w.Scalar(tag, step, v)
	}
}

func (t *tbLog) onStep(s train.StepInfo) {
	m := s.Metrics
	for _, kv := range []struct {
		tag string
		v   float64
	}{{"train/c_loss", m.CLoss}, {"train/c_acc", m.CAcc}, {"train/r_acc", m.RAcc}, {"train/p_loss", m.PLoss},
		{"train/p_acc", m.PAcc}, {"train/images_per_second", float64(s.Images) / s.Duration.Seconds()}} {
		t.scalar(kv.tag, s.GlobalStep, kv.v)
	}
}

func (t *tbLog) onValidation(v train.Validation) {
	t.scalar("val/p_loss", v.GlobalStep, v.Loss)
	t.scalar("val/p_acc", v.GlobalStep, v.Acc)
}

// Close closes the event file and reports the first write error.
func (t *tbLog) Close() error {
	if t == nil || t.w == nil {
		return nil
	}
	err := t.w.Close()
	t.w = nil
	if t.err != nil {
		return fmt.Errorf("tensorboard: %w", t.err)
	}
	return err
}

// flagsMarkdown renders the run's flags as a Markdown table for TensorBoard's text plugin.
func flagsMarkdown(c Config) string {
	b, _ := json.Marshal(c)
	var m map[string]any
	json.Unmarshal(b, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteString("| flag | value |\n|---|---|\n")
	for _, k := range keys {
		fmt.Fprintf(&sb, "| %s | %v |\n", k, m[k])
	}
	return sb.String()
}
