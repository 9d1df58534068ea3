package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

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
		Seconds: sec, ImagesPerSecond: float64(s.Images) / sec})
}

func (l *jsonlLog) onValidation(v train.Validation) {
	l.write(validationRecord{Type: "validation", Epoch: v.Epoch + 1, GlobalStep: v.GlobalStep, PLoss: v.Loss, PAcc: v.Acc, Examples: v.Examples})
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
		b.bar = progressbar.NewOptions(b.steps,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", s.Epoch+1, b.epochs)),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(20),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.w) }),
		)
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
