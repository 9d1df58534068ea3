package tboard

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nnclr/nnclr/tfrecord"
	"github.com/wamuir/graft/tensorflow/core/framework/summary_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"github.com/wamuir/graft/tensorflow/core/util/event_go_proto"
	"google.golang.org/protobuf/proto"
)

// FileVersion is the file_version of the first Event of every file, the one TensorFlow 2 writes.
const FileVersion = "brain.Event:2"

// maxNameTries bounds the search for a free file name (the counter in the name).
const maxNameTries = 1000

// ErrClosed is returned (wrapped, with the file name) by a Writer's methods after Close.
var ErrClosed = errors.New("tboard: writer is closed")

// Options tunes a Writer. The zero Options gives the defaults.
type Options struct {
	// FlushEvery is how many events are buffered before they are handed to the operating
	// system. 0 or 1 (the default) flushes every event before Scalar or Text returns. With
	// N > 1, a crash can lose up to N-1 events; call Flush to bound it at a point of your
	// choosing. The file_version event is always flushed when the file is created.
	FlushEvery int
	// FilenameSuffix is appended to the file name, e.g. ".v2" as tf.summary writes. It must not
	// contain a path separator.
	FilenameSuffix string
}

// Writer appends TensorBoard events to one file. It is safe for concurrent use; Close releases
// the file and is safe to call more than once.
type Writer struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	bw      *bufio.Writer
	rw      *tfrecord.Writer
	every   int
	pending int   // events written to bw since the last flush
	err     error // first write error; sticky
	closed  bool
}

// NewWriter creates dir (and its parents) if needed and a new events file in it, and writes the
// file_version event. The file's name sorts after every event file already in dir (TensorBoard
// reads a run's files in name order): its second is now, or one past the newest file's when that
// is not earlier. Pass at most one Options; none means the defaults. Two Writers, in one
// process or several, never share a file: the file is created exclusively and the counter in
// its name goes up until a free name is found.
func NewWriter(dir string, opts ...Options) (*Writer, error) {
	var o Options
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		return nil, fmt.Errorf("tboard: NewWriter takes at most one Options, got %d", len(opts))
	}
	if o.FlushEvery < 0 {
		return nil, fmt.Errorf("tboard: FlushEvery %d is negative", o.FlushEvery)
	}
	if strings.ContainsRune(o.FilenameSuffix, '/') || strings.ContainsRune(o.FilenameSuffix, filepath.Separator) {
		return nil, fmt.Errorf("tboard: FilenameSuffix %q contains a path separator", o.FilenameSuffix)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tboard: create log directory %s: %w", dir, err)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	host = strings.ReplaceAll(host, string(filepath.Separator), "_")
	now := time.Now()
	prefix := fmt.Sprintf("events.out.tfevents.%010d.%s.%d.", nameSecond(dir, now), host, os.Getpid())
	var f *os.File
	var path string
	for n := 0; ; n++ {
		path = filepath.Join(dir, fmt.Sprintf("%s%d%s", prefix, n, o.FilenameSuffix))
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || n+1 == maxNameTries {
			return nil, fmt.Errorf("tboard: create events file: %w", err)
		}
	}
	bw := bufio.NewWriter(f)
	w := &Writer{path: path, f: f, bw: bw, rw: tfrecord.NewWriter(bw), every: max(o.FlushEvery, 1)}
	first := &event_go_proto.Event{WallTime: wallTime(now), What: &event_go_proto.Event_FileVersion{FileVersion: FileVersion}}
	err = w.write(first)
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return w, nil
}

// Path returns the path of the events file.
func (w *Writer) Path() string { return w.path }

// Scalar writes value for tag at step as a TF1-style simple_value summary. simple_value is a
// float32: value is rounded to the nearest float32, so finite values beyond ±math.MaxFloat32
// become ±Inf. NaN and ±Inf are written as they are; TensorBoard reads and plots them.
func (w *Writer) Scalar(tag string, step int64, value float64) error {
	if tag == "" {
		return fmt.Errorf("tboard: %s: scalar at step %d: empty tag", w.path, step)
	}
	return w.summary(step, &summary_go_proto.Summary_Value{
		Tag:   tag,
		Value: &summary_go_proto.Summary_Value_SimpleValue{SimpleValue: float32(value)},
	})
}

// Text writes text for tag at step for TensorBoard's text plugin, as tf.summary.text does: a
// scalar string tensor whose metadata names the "text" plugin. TensorBoard renders it as
// Markdown. text must be valid UTF-8.
func (w *Writer) Text(tag string, step int64, text string) error {
	if tag == "" {
		return fmt.Errorf("tboard: %s: text at step %d: empty tag", w.path, step)
	}
	if !utf8.ValidString(text) {
		return fmt.Errorf("tboard: %s: text %q at step %d: not valid UTF-8", w.path, tag, step)
	}
	return w.summary(step, &summary_go_proto.Summary_Value{
		Tag: tag,
		// TextPluginData{version: 0} serializes to no bytes, so Content stays empty.
		Metadata: &summary_go_proto.SummaryMetadata{
			PluginData: &summary_go_proto.SummaryMetadata_PluginData{PluginName: "text"},
		},
		Value: &summary_go_proto.Summary_Value_Tensor{Tensor: &tensor_go_proto.TensorProto{
			Dtype:       types_go_proto.DataType_DT_STRING,
			TensorShape: &tensor_shape_go_proto.TensorShapeProto{},
			StringVal:   [][]byte{[]byte(text)},
		}},
	})
}

// SessionStart writes a SessionLog START event at step: TensorBoard's mark of a (re)start.
// Reading a run's files in order, TensorBoard takes the first START for the run's beginning and
// every later one for a restart at its step, dropping the points at that step and after which
// earlier events wrote (the orphans of an attempt that died after its last checkpoint).
func (w *Writer) SessionStart(step int64) error {
	ev := &event_go_proto.Event{
		WallTime: wallTime(time.Now()),
		Step:     step,
		What:     &event_go_proto.Event_SessionLog{SessionLog: &event_go_proto.SessionLog{Status: event_go_proto.SessionLog_START}},
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.write(ev); err != nil {
		return err
	}
	return w.flush()
}

// summary writes one Event holding v at step, and flushes per the policy.
func (w *Writer) summary(step int64, v *summary_go_proto.Summary_Value) error {
	ev := &event_go_proto.Event{
		WallTime: wallTime(time.Now()),
		Step:     step,
		What:     &event_go_proto.Event_Summary{Summary: &summary_go_proto.Summary{Value: []*summary_go_proto.Summary_Value{v}}},
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.write(ev); err != nil {
		return err
	}
	if w.pending >= w.every {
		return w.flush()
	}
	return nil
}

// Flush hands every buffered event to the operating system.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	return w.flush()
}

// Close flushes buffered events and closes the file. Calling Close again returns nil; any
// other method called after Close returns an error wrapping ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	ferr := w.flush()
	if err := w.f.Close(); err != nil && ferr == nil {
		ferr = fmt.Errorf("tboard: close %s: %w", w.path, err)
	}
	return ferr
}

// usable returns the error that stops w from writing: closed, or an earlier write error.
// w.mu must be held.
func (w *Writer) usable() error {
	if w.closed {
		return fmt.Errorf("tboard: %s: %w", w.path, ErrClosed)
	}
	return w.err
}

// write appends ev as one record to the buffer. w.mu must be held (or w not yet shared).
func (w *Writer) write(ev *event_go_proto.Event) error {
	if w.err != nil {
		return w.err
	}
	data, err := proto.Marshal(ev)
	if err != nil {
		return fmt.Errorf("tboard: %s: marshal event: %w", w.path, err)
	}
	if err := w.rw.Write(data); err != nil {
		w.err = fmt.Errorf("tboard: %s: %w", w.path, err)
		return w.err
	}
	w.pending++
	return nil
}

// flush writes the buffer to the file. w.mu must be held (or w not yet shared).
func (w *Writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("tboard: %s: flush: %w", w.path, err)
		return w.err
	}
	w.pending = 0
	return nil
}

// wallTime returns t as the float seconds since the Unix epoch that Event.wall_time holds.
func wallTime(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}

// nameSecond is the second a new event file in dir is named with: now's, or one past the
// newest existing file's when that is now or later. TensorBoard reads a directory's event files
// in name order; a file started in the same second as an earlier one could otherwise sort before
// it (a lower pid), and a resumed run's restart marker would come before the points it drops.
func nameSecond(dir string, now time.Time) int64 {
	sec := now.Unix()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "events.out.tfevents.")
		if !ok {
			continue
		}
		digits, _, _ := strings.Cut(rest, ".")
		if t, err := strconv.ParseInt(digits, 10, 64); err == nil && t >= sec {
			sec = t + 1
		}
	}
	return sec
}
