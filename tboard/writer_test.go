package tboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testpy"
)

// The reading side of every cross-check is the real TensorBoard (testdata/read_events.py).
const readScript = "testdata/read_events.py"

// crashEnv makes the test binary a crash child instead of running tests: see TestMain.
const crashEnv = "TBOARD_CRASH_CHILD"

// crashExit is the exit status of a crash child that got as far as the crash.
const crashExit = 3

// TestMain runs the crash child when crashEnv is set ("dir,flushEvery,n"): it writes n scalars
// (tag "x", step i, value i) and exits without Close or Flush, as a crashing trainer would.
func TestMain(m *testing.M) {
	if spec := os.Getenv(crashEnv); spec != "" {
		os.Exit(crashChild(spec))
	}
	os.Exit(m.Run())
}

func crashChild(spec string) int {
	parts := strings.Split(spec, ",")
	if len(parts) != 3 {
		fmt.Fprintf(os.Stderr, "bad %s=%q\n", crashEnv, spec)
		return 1
	}
	dir := parts[0]
	every, err1 := strconv.Atoi(parts[1])
	n, err2 := strconv.Atoi(parts[2])
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w, err := NewWriter(dir, Options{FlushEvery: every})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := range n {
		if err := w.Scalar("x", int64(i), float64(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return crashExit
}

// What read_events.py prints for one log directory.
type readBack struct {
	Raw []struct {
		Name   string
		Events []struct {
			WallTime    float64 `json:"wall_time"`
			Step        int64
			What        string
			FileVersion string `json:"file_version"`
			Tags        []string
		}
	}
	Legacy struct {
		FileVersion *float64 `json:"file_version"`
		Scalars     map[string][]point
		Tensors     map[string][]textPoint
		Plugins     map[string]string
		TextTags    []string `json:"text_tags"`
	}
	DataProvider struct {
		Runs    []string
		Scalars map[string][]point
		Text    map[string][]textPoint
	} `json:"data_provider"`
}

type point struct {
	Step  int64
	Value string // float.hex(), or nan, inf, -inf
}

type textPoint struct {
	Step    int64
	Strings []string
	Dtype   int
	Rank    int
}

// readEvents reads each dir with the real TensorBoard.
func readEvents(t *testing.T, dirs ...string) map[string]readBack {
	t.Helper()
	out := testpy.Run(t, readScript, dirs...)
	var got map[string]readBack
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("decode %s output: %v\n%s", readScript, err, out)
	}
	return got
}

type scalar struct {
	tag   string
	step  int64
	value float64
}

// checkScalars compares what TensorBoard read with what was written: same tags, and per tag
// the same steps in order, each value equal to the written float64 rounded to float32 (bit for
// bit, so -0 and +0 differ; any NaN matches NaN).
func checkScalars(t *testing.T, where string, got map[string][]point, want []scalar) {
	t.Helper()
	byTag := map[string][]scalar{}
	for _, s := range want {
		byTag[s.tag] = append(byTag[s.tag], s)
	}
	if len(got) != len(byTag) {
		t.Errorf("%s: %d scalar tags %v, want %d", where, len(got), keys(got), len(byTag))
	}
	for tag, ws := range byTag {
		gs, ok := got[tag]
		if !ok {
			t.Errorf("%s: scalar tag %q missing; have %v", where, tag, keys(got))
			continue
		}
		if len(gs) != len(ws) {
			t.Errorf("%s: tag %q: %d points, want %d", where, tag, len(gs), len(ws))
			continue
		}
		for i, w := range ws {
			g := gs[i]
			v, err := strconv.ParseFloat(g.Value, 64)
			if err != nil {
				t.Errorf("%s: tag %q point %d: value %q: %v", where, tag, i, g.Value, err)
				continue
			}
			want32 := float32(w.value)
			same := math.Float32bits(float32(v)) == math.Float32bits(want32) ||
				(math.IsNaN(v) && math.IsNaN(float64(want32)))
			if g.Step != w.step || !same || float64(float32(v)) != v && !math.IsNaN(v) {
				t.Errorf("%s: tag %q point %d: (step %d, %v), want (step %d, %v = float32(%v))",
					where, tag, i, g.Step, v, w.step, want32, w.value)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestTensorBoardReadsEverything(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "train") // NewWriter creates missing parents
	before := time.Now()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	scalars := []scalar{
		{"loss", 0, 2.5},
		{"loss", 1, 0.1}, // not a float32: rounds
		{"loss", 2, -1.75},
		{"loss", 1 << 40, 1e-3},
		{"train/acc", -3, 0}, // negative step
		{"train/acc", 0, math.Copysign(0, -1)},
		{"train/acc", 7, 1},
		{"weird", 0, math.NaN()},
		{"weird", 1, math.Inf(1)},
		{"weird", 2, math.Inf(-1)},
		{"weird", 3, 1e39},  // beyond float32: +Inf
		{"weird", 4, -1e39}, // -Inf
		{"weird", 5, math.MaxFloat32},
		{"weird", 6, math.SmallestNonzeroFloat32},
		{"weird", 7, 1e-50}, // underflows to 0
		{"weird", 8, -123456789.123},
	}
	texts := []struct {
		tag  string
		step int64
		text string
	}{
		{"notes", 0, "hello **world**"},
		{"notes", 5, "| a | b |\n|---|---|\n| ü | 🙂 |"},
		{"notes", 6, ""},
		{"notes", 9, "  indented, trailing newline\n"},
	}
	// Interleave tags, as a training loop does.
	ti := 0
	for i, s := range scalars {
		if err := w.Scalar(s.tag, s.step, s.value); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 && ti < len(texts) {
			if err := w.Text(texts[ti].tag, texts[ti].step, texts[ti].text); err != nil {
				t.Fatal(err)
			}
			ti++
		}
	}
	for ; ti < len(texts); ti++ {
		if err := w.Text(texts[ti].tag, texts[ti].step, texts[ti].text); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	after := time.Now()

	got := readEvents(t, dir)[dir]

	// The file: one, named as TensorFlow names them, starting with the file_version event.
	if len(got.Raw) != 1 {
		t.Fatalf("TensorBoard found %d events files, want 1: %+v", len(got.Raw), got.Raw)
	}
	f := got.Raw[0]
	host, _ := os.Hostname()
	namePat := regexp.MustCompile(`^events\.out\.tfevents\.\d{10}\.` + regexp.QuoteMeta(host) + `\.` + strconv.Itoa(os.Getpid()) + `\.\d+$`)
	if f.Name != filepath.Base(w.Path()) || !namePat.MatchString(f.Name) {
		t.Errorf("file name %q (Path %q), want a match for %s", f.Name, w.Path(), namePat)
	}
	if n, want := len(f.Events), 1+len(scalars)+len(texts); n != want {
		t.Fatalf("%d events, want %d", n, want)
	}
	if e := f.Events[0]; e.What != "file_version" || e.FileVersion != "brain.Event:2" {
		t.Errorf("first event %+v, want file_version brain.Event:2", e)
	}
	lo, hi := float64(before.UnixNano())/1e9-1e-3, float64(after.UnixNano())/1e9+1e-3
	for i, e := range f.Events {
		if e.WallTime < lo || e.WallTime > hi || (i > 0 && e.WallTime < f.Events[i-1].WallTime) {
			t.Errorf("event %d: wall_time %f, want nondecreasing in [%f, %f]", i, e.WallTime, lo, hi)
		}
		if i > 0 && (e.What != "summary" || len(e.Tags) != 1) {
			t.Errorf("event %d: %+v, want a summary with one value", i, e)
		}
	}

	// The TF1-era EventAccumulator.
	if fv := got.Legacy.FileVersion; fv == nil || *fv != 2 {
		t.Errorf("EventAccumulator file_version %v, want 2", fv)
	}
	checkScalars(t, "EventAccumulator", got.Legacy.Scalars, scalars)
	if len(got.Legacy.Tensors) != 1 {
		t.Errorf("EventAccumulator tensor tags %v, want [notes]", keys(got.Legacy.Tensors))
	}
	if p := got.Legacy.Plugins["notes"]; p != "text" {
		t.Errorf("EventAccumulator: tag notes has plugin %q, want text", p)
	}
	if tt := got.Legacy.TextTags; len(tt) != 1 || tt[0] != "notes" {
		t.Errorf("EventAccumulator: text plugin tags %v, want [notes]", tt)
	}
	const dtString = 7 // DT_STRING
	checkText := func(where string, gs []textPoint, legacy bool) {
		t.Helper()
		if len(gs) != len(texts) {
			t.Errorf("%s: %d text points, want %d", where, len(gs), len(texts))
			return
		}
		for i, g := range gs {
			w := texts[i]
			if g.Step != w.step || len(g.Strings) != 1 || g.Strings[0] != w.text || g.Rank != 0 ||
				(legacy && g.Dtype != dtString) {
				t.Errorf("%s: text point %d: %+v, want step %d, one string %q, rank 0, dtype string",
					where, i, g, w.step, w.text)
			}
		}
	}
	checkText("EventAccumulator", got.Legacy.Tensors["notes"], true)

	// The data provider behind TensorBoard's server, its scalars and text plugins.
	if r := got.DataProvider.Runs; len(r) != 1 || r[0] != "." {
		t.Errorf("data provider runs %v, want [.]", r)
	}
	checkScalars(t, "data provider", got.DataProvider.Scalars, scalars)
	if len(got.DataProvider.Text) != 1 {
		t.Errorf("data provider text tags %v, want [notes]", keys(got.DataProvider.Text))
	}
	checkText("data provider", got.DataProvider.Text["notes"], false)
}

// TestCrashLeavesEventsReadable kills a writer mid-run: a child process writes and exits without
// Close. Everything up to the last flush point of the documented policy must be readable.
func TestCrashLeavesEventsReadable(t *testing.T) {
	cases := []struct {
		name          string
		flushEvery, n int
		wantSteps     int
	}{
		{"default flushes every event", 0, 5, 5},
		{"FlushEvery 1", 1, 5, 5},
		{"FlushEvery 4, 6 written", 4, 6, 4},
		{"FlushEvery 4, 8 written", 4, 8, 8},
		{"FlushEvery 4, 3 written", 4, 3, 0},
	}
	root := t.TempDir()
	var dirs []string
	for i, c := range cases {
		dir := filepath.Join(root, strconv.Itoa(i))
		dirs = append(dirs, dir)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%d", crashEnv, dir, c.flushEvery, c.n))
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != crashExit {
			t.Fatalf("%s: crash child: %v, want exit status %d\n%s", c.name, err, crashExit, out)
		}
	}
	got := readEvents(t, dirs...)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := got[dirs[i]]
			var want []scalar
			for s := range c.wantSteps {
				want = append(want, scalar{"x", int64(s), float64(s)})
			}
			checkScalars(t, "EventAccumulator", g.Legacy.Scalars, want)
			checkScalars(t, "data provider", g.DataProvider.Scalars, want)
			if len(g.Raw) != 1 || len(g.Raw[0].Events) != 1+c.wantSteps {
				t.Errorf("raw events: %+v, want one file with %d events", g.Raw, 1+c.wantSteps)
			}
		})
	}
}

// TestTruncatedTail copies a file as a crash in the middle of a write leaves it (the last record
// cut short) and while the writer still has it open: TensorBoard reads every whole event.
func TestTruncatedTail(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var want []scalar
	for i := range 3 {
		want = append(want, scalar{"y", int64(i), float64(i) / 3})
		if err := w.Scalar("y", int64(i), float64(i)/3); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(w.Path()) // copied mid-run: no Flush, no Close
	if err != nil {
		t.Fatal(err)
	}
	cut, open := filepath.Join(dir, "cut"), filepath.Join(dir, "open")
	for d, b := range map[string][]byte{cut: data[:len(data)-3], open: data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, filepath.Base(w.Path())), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := readEvents(t, cut, open)
	checkScalars(t, "open copy", got[open].Legacy.Scalars, want)
	checkScalars(t, "cut copy", got[cut].Legacy.Scalars, want[:2])
	checkScalars(t, "cut copy, data provider", got[cut].DataProvider.Scalars, want[:2])
}

// TestConcurrentWriters has goroutines share one Writer; every event must arrive whole.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, Options{FlushEvery: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const goroutines, steps = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range steps {
				if err := w.Scalar(fmt.Sprintf("g%d", g), int64(s), float64(g*1000+s)); err != nil {
					errs <- err
					return
				}
				if s%10 == 0 {
					if err := w.Flush(); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var want []scalar
	for g := range goroutines {
		for s := range steps {
			want = append(want, scalar{fmt.Sprintf("g%d", g), int64(s), float64(g*1000 + s)})
		}
	}
	checkScalars(t, "EventAccumulator", readEvents(t, dir)[dir].Legacy.Scalars, want)
}

func TestFileNamesNeverCollide(t *testing.T) {
	dir := t.TempDir()
	seen := map[string]bool{}
	for i := range 5 {
		opts := Options{}
		if i%2 == 1 {
			opts.FilenameSuffix = ".v2"
		}
		w, err := NewWriter(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		name := filepath.Base(w.Path())
		if seen[name] {
			t.Errorf("writer %d reuses file name %s", i, name)
		}
		seen[name] = true
		if !strings.HasPrefix(name, "events.out.tfevents.") || !strings.HasSuffix(name, opts.FilenameSuffix) {
			t.Errorf("file name %q, want events.out.tfevents.… ending in %q", name, opts.FilenameSuffix)
		}
	}
}

func TestNewWriterErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	under := filepath.Join(file, "logs")
	cases := []struct {
		name, dir string
		opts      []Options
		want      string
	}{
		{"dir under a regular file", under, nil, under},
		{"dir is a regular file", file, nil, file},
		{"two Options", dir, []Options{{}, {}}, "at most one Options"},
		{"negative FlushEvery", dir, []Options{{FlushEvery: -1}}, "FlushEvery -1"},
		{"suffix with a separator", dir, []Options{{FilenameSuffix: "a/b"}}, `"a/b"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := NewWriter(c.dir, c.opts...)
			if err == nil {
				w.Close()
				t.Fatalf("NewWriter(%q) = nil error, want one containing %q", c.dir, c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "tboard: ") {
				t.Errorf("error %q, want it to start with tboard: and contain %q", err, c.want)
			}
		})
	}
}

func TestBadInputAndClose(t *testing.T) {
	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"empty scalar tag", func() error { return w.Scalar("", 1, 1) }, "empty tag"},
		{"empty text tag", func() error { return w.Text("", 1, "x") }, "empty tag"},
		{"invalid UTF-8 text", func() error { return w.Text("t", 2, "a\xffb") }, "not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), w.Path()) {
				t.Errorf("error %v, want one naming %s and containing %q", err, w.Path(), c.want)
			}
		})
	}
	// Bad input leaves the writer usable.
	if err := w.Scalar("ok", 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	for name, call := range map[string]func() error{
		"Scalar": func() error { return w.Scalar("ok", 2, 1) },
		"Text":   func() error { return w.Text("ok", 2, "x") },
		"Flush":  w.Flush,
	} {
		if err := call(); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), w.Path()) {
			t.Errorf("%s after Close: %v, want ErrClosed naming %s", name, err, w.Path())
		}
	}
}

// TestNewFileSortsLast: a new event file's name sorts after every event file already in the
// directory, even one named with this second (or a later one) and a larger pid: TensorBoard reads
// a run's files in name order, so a resumed run's file must come after the attempt it follows.
func TestNewFileSortsLast(t *testing.T) {
	dir := t.TempDir()
	for _, sec := range []int64{time.Now().Unix(), time.Now().Unix() + 3} {
		old := filepath.Join(dir, fmt.Sprintf("events.out.tfevents.%010d.zz-host.999999999.0", sec))
		if err := os.WriteFile(old, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(dir)
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		names, _ := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*"))
		slices.Sort(names)
		if names[len(names)-1] != w.Path() {
			t.Errorf("new file %s does not sort last among %v", filepath.Base(w.Path()), names)
		}
	}
}
