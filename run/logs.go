package run

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/nnclr/nnclr/internal/atomicfile"
	"github.com/nnclr/nnclr/tboard"
	"github.com/nnclr/nnclr/train"
)

// StepRecord is a "step" line of metrics.jsonl: one per training step.
type StepRecord struct {
	Type            string   `json:"type"` // "step"
	Epoch           int      `json:"epoch"`
	Step            int      `json:"step"` // within the epoch, from 1
	GlobalStep      int64    `json:"global_step"`
	CLoss           float64  `json:"c_loss"`
	CAcc            float64  `json:"c_acc"`
	RAcc            float64  `json:"r_acc"`
	PLoss           *float64 `json:"p_loss,omitempty"` // nil (absent) for a model without a probe
	PAcc            *float64 `json:"p_acc,omitempty"`
	Seconds         float64  `json:"seconds"`
	SessionSeconds  float64  `json:"session_seconds"`
	ImagesPerSecond float64  `json:"images_per_second"`
}

// (KNNRecord, in knnmonitor.go, is a "knn" line: the kNN monitor's figure.)

// ValidationRecord is a "validation" line of metrics.jsonl: one per epoch.
type ValidationRecord struct {
	Type       string  `json:"type"` // "validation"
	Epoch      int     `json:"epoch"`
	GlobalStep int64   `json:"global_step"`
	PLoss      float64 `json:"val_p_loss"`
	PAcc       float64 `json:"val_p_acc"`
	Examples   int     `json:"examples"`
}

// trimMetrics keeps the lines of dir's metrics.jsonl up to global step last and appends the
// others to metrics.orphaned.jsonl. Both files are replaced atomically (orphans first), so a
// crash in between leaves at worst a line in both.
func trimMetrics(dir string, last int64) error {
	path := filepath.Join(dir, MetricsFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	var keep, drop []byte
	for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r struct {
			GlobalStep int64 `json:"global_step"`
		}
		if !bytes.HasSuffix(line, []byte("\n")) || json.Unmarshal(line, &r) != nil || r.GlobalStep > last {
			drop = append(drop, line...) // also a line cut short by a crash
			if !bytes.HasSuffix(drop, []byte("\n")) {
				drop = append(drop, '\n')
			}
			continue
		}
		keep = append(keep, line...)
	}
	if len(drop) == 0 {
		return nil
	}
	orphans := filepath.Join(dir, OrphanedMetrics)
	old, err := os.ReadFile(orphans)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("run: %w", err)
	}
	write := func(p string, b []byte) error {
		return atomicfile.Write(p, func(w io.Writer) error { _, err := w.Write(b); return err })
	}
	if err := write(orphans, append(old, drop...)); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if err := write(path, keep); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}

// metricsLog appends one JSON object per event to RUN_DIR/metrics.jsonl.
type metricsLog struct {
	mu  sync.Mutex
	f   *os.File
	enc *json.Encoder
	err error
}

func openMetrics(path string) (*metricsLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run: metrics log: %w", err)
	}
	return &metricsLog{f: f, enc: json.NewEncoder(f)}, nil
}

func (l *metricsLog) write(v any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = l.enc.Encode(v)
	}
}

func (l *metricsLog) onStep(s train.StepInfo) {
	sec := s.Duration.Seconds()
	r := StepRecord{Type: "step", Epoch: s.Epoch + 1, Step: s.Step, GlobalStep: s.GlobalStep,
		CLoss: s.Metrics.CLoss, CAcc: s.Metrics.CAcc, RAcc: s.Metrics.RAcc,
		Seconds: sec, SessionSeconds: s.SessionRunTime.Seconds(), ImagesPerSecond: float64(s.Images) / sec}
	if s.Metrics.Probe {
		r.PLoss, r.PAcc = &s.Metrics.PLoss, &s.Metrics.PAcc
	}
	l.write(r)
}

func (l *metricsLog) onValidation(v train.Validation) {
	l.write(ValidationRecord{Type: "validation", Epoch: v.Epoch + 1, GlobalStep: v.GlobalStep, PLoss: v.Loss, PAcc: v.Acc, Examples: v.Examples})
}

// Close closes the file and reports the first write error.
func (l *metricsLog) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if l.err != nil {
		return fmt.Errorf("run: metrics log: %w", l.err)
	}
	return err
}

// tbLog writes the run's metrics as TensorBoard scalars: train/<metric> per step and
// val/<metric> per epoch, at the global step (no train/p_loss, train/p_acc for a model without a
// probe).
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
		if !m.Probe && strings.HasPrefix(kv.tag, "train/p_") {
			continue
		}
		t.scalar(kv.tag, s.GlobalStep, kv.v)
	}
}

func (t *tbLog) onValidation(v train.Validation) {
	t.scalar("val/p_loss", v.GlobalStep, v.Loss)
	t.scalar("val/p_acc", v.GlobalStep, v.Acc)
}

func (t *tbLog) onKNN(r KNNRecord) {
	t.scalar("val/knn_top1", r.GlobalStep, r.Top1)
	if r.Top5 != nil {
		t.scalar("val/knn_top5", r.GlobalStep, *r.Top5)
	}
}

// Close closes the event file and reports the first write error.
func (t *tbLog) Close() error {
	if t == nil || t.w == nil {
		return nil
	}
	err := t.w.Close()
	t.w = nil
	if t.err != nil {
		return errors.Join(fmt.Errorf("run: tensorboard: %w", t.err), err)
	}
	return err
}

// configMarkdown renders the config as a Markdown table of settings for TensorBoard's text
// plugin.
func configMarkdown(c Config) string {
	b, _ := json.Marshal(c)
	var m map[string]any
	json.Unmarshal(b, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteString("| setting | value |\n|---|---|\n")
	for _, k := range keys {
		fmt.Fprintf(&sb, "| %s | %v |\n", k, m[k])
	}
	return sb.String()
}
