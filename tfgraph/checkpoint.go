package tfgraph

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nnclr/nnclr/internal/atomicfile"
	"github.com/nnclr/nnclr/tfrun"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// Checkpoints are TensorFlow's own format: SaveV2 writes PREFIX.index and
// PREFIX.data-00000-of-00001 holding every model variable under its name (weights, both Adam
// optimizers' slots and counters, the queue, global_step), readable by tf.train.load_checkpoint.
// A text CheckpointState file named "checkpoint" beside them names the latest, as
// tf.train.latest_checkpoint expects.

// ErrNoCheckpoint is returned when a directory holds no checkpoint.
var ErrNoCheckpoint = errors.New("no checkpoint")

const stateFile = "checkpoint"

// Save writes all variables to dir/ckpt-STEP, STEP being the global step, and then makes it the
// latest. It is atomic: files are written under temporary names and renamed into place, and the
// state file is replaced by a rename last, so a crash at any point leaves the previous latest
// checkpoint intact. Checkpoints beyond the newest keep are removed (keep <= 0 keeps all).
func (m *Model) Save(dir string, keep int) (string, error) {
	st, err := m.Weights("global_step")
	if err != nil {
		return "", err
	}
	step := st["global_step"].Int[0]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("tfgraph: checkpoint dir: %w", err)
	}
	name := fmt.Sprintf("ckpt-%d", step)
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.tmp%d", name, os.Getpid()))
	prefix, err := tfrun.NewTensor(tmp)
	if err != nil {
		return "", err
	}
	defer tfrun.Close(prefix)
	if err := m.run(map[tf.Output]*tf.Tensor{m.g.ckpt.saveDir: prefix}, nil, []*tf.Operation{m.g.ckpt.save}, nil); err != nil {
		removeBundle(tmp)
		return "", fmt.Errorf("tfgraph: saving checkpoint %s: %w", filepath.Join(dir, name), err)
	}
	final := filepath.Join(dir, name)
	// Data first, index last: a bundle is only readable once its index exists.
	for _, suffix := range []string{".data-00000-of-00001", ".index"} {
		if err := os.Rename(tmp+suffix, final+suffix); err != nil {
			removeBundle(tmp)
			return "", fmt.Errorf("tfgraph: checkpoint %s: %w", final, err)
		}
	}
	all, _ := listCheckpoints(dir)
	all = slices.DeleteFunc(all, func(s string) bool { return s == name })
	all = append(all, name)
	var drop []string
	if keep > 0 && len(all) > keep {
		drop, all = all[:len(all)-keep], all[len(all)-keep:]
	}
	if err := writeState(dir, all); err != nil {
		return "", err
	}
	for _, d := range drop {
		removeBundle(filepath.Join(dir, d))
	}
	return final, nil
}

func removeBundle(prefix string) {
	os.Remove(prefix + ".index")
	os.Remove(prefix + ".data-00000-of-00001")
}

// writeState atomically replaces dir/checkpoint with a CheckpointState naming all, latest last.
func writeState(dir string, all []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "model_checkpoint_path: %s\n", strconv.Quote(all[len(all)-1]))
	for _, c := range all {
		fmt.Fprintf(&b, "all_model_checkpoint_paths: %s\n", strconv.Quote(c))
	}
	err := atomicfile.Write(filepath.Join(dir, stateFile), func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	})
	if err != nil {
		return fmt.Errorf("tfgraph: checkpoint state: %w", err)
	}
	return nil
}

// listCheckpoints returns the checkpoints named in dir/checkpoint, oldest first.
func listCheckpoints(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var all []string
	latest := ""
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v, err := strconv.Unquote(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("tfgraph: %s line %d: %q is not a quoted path", filepath.Join(dir, stateFile), line, val)
		}
		switch strings.TrimSpace(key) {
		case "model_checkpoint_path":
			latest = v
		case "all_model_checkpoint_paths":
			all = append(all, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if latest != "" && !slices.Contains(all, latest) {
		all = append(all, latest)
	}
	return all, nil
}

// Checkpoints returns the prefixes of the checkpoints in dir, newest (highest step) first: those
// the state file names and any other ckpt-STEP whose index is there (a state file written before
// a crash may lag behind). A directory without any is ErrNoCheckpoint. Whether each is readable
// is for Restore to find out.
func Checkpoints(dir string) ([]string, error) {
	named, err := listCheckpoints(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	found, _ := filepath.Glob(filepath.Join(dir, "ckpt-*.index"))
	seen := map[string]bool{}
	var all []string
	for _, p := range named {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if !seen[p] {
			seen[p] = true
			all = append(all, p)
		}
	}
	for _, f := range found {
		if p := strings.TrimSuffix(f, ".index"); !seen[p] {
			seen[p] = true
			all = append(all, p)
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("tfgraph: %s: %w", dir, ErrNoCheckpoint)
	}
	step := func(p string) int64 {
		n, err := strconv.ParseInt(strings.TrimPrefix(filepath.Base(p), "ckpt-"), 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	slices.SortStableFunc(all, func(a, b string) int { return cmp.Compare(step(b), step(a)) })
	return all, nil
}

// LatestCheckpoint returns the prefix of the latest checkpoint in dir, or ErrNoCheckpoint.
func LatestCheckpoint(dir string) (string, error) {
	all, err := listCheckpoints(dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(all) == 0) {
		return "", fmt.Errorf("tfgraph: %s: %w", dir, ErrNoCheckpoint)
	}
	if err != nil {
		return "", err
	}
	p := all[len(all)-1]
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	if _, err := os.Stat(p + ".index"); err != nil {
		return "", fmt.Errorf("tfgraph: latest checkpoint %s: %w", p, err)
	}
	return p, nil
}

// Restore sets every variable from the checkpoint at prefix. A variable missing from the
// checkpoint or stored with another shape is an error naming it (and both shapes); no variable is
// changed then.
func (m *Model) Restore(prefix string) error {
	if _, err := os.Stat(prefix + ".index"); err != nil {
		return fmt.Errorf("tfgraph: checkpoint %s: %w", prefix, err)
	}
	p, err := tfrun.NewTensor(prefix)
	if err != nil {
		return err
	}
	defer tfrun.Close(p)
	vals := map[string]tfrun.Array{}
	err = m.run(map[tf.Output]*tf.Tensor{m.g.ckpt.restorePrefix: p}, m.g.ckpt.restore, nil, func(out []*tf.Tensor) error {
		for i, v := range m.g.vars {
			a, err := tfrun.TensorArray(out[i])
			if err != nil {
				return fmt.Errorf("variable %s: %w", v.spec.Name, err)
			}
			if !slices.Equal(a.Shape, v.spec.Shape) {
				return fmt.Errorf("variable %s: %w: checkpoint has %v, model expects %v", v.spec.Name, ErrShape, a.Shape, v.spec.Shape)
			}
			vals[v.spec.Name] = a
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tfgraph: checkpoint %s: %w", prefix, err)
	}
	return m.SetWeights(vals)
}

// GlobalStep returns the number of training steps the model has run.
func (m *Model) GlobalStep() (int64, error) {
	w, err := m.Weights("global_step")
	if err != nil {
		return 0, err
	}
	return w["global_step"].Int[0], nil
}

// ReadCheckpoint returns the named float32 tensors of the checkpoint at prefix (for instance a
// run's weights, for export) without building a model. A missing name is an error naming it.
func ReadCheckpoint(prefix string, names []string) (map[string]tfrun.Array, error) {
	if _, err := os.Stat(prefix + ".index"); err != nil {
		return nil, fmt.Errorf("tfgraph: checkpoint %s: %w", prefix, err)
	}
	s := op.NewScope()
	p := op.Placeholder(s.SubScope("prefix"), tf.String, op.PlaceholderShape(tf.ScalarShape()))
	dtypes := make([]tf.DataType, len(names))
	for i := range dtypes {
		dtypes[i] = tf.Float
	}
	outs := op.RestoreV2(s.SubScope("restore"), p, op.Const(s.SubScope("names"), names),
		op.Const(s.SubScope("slices"), make([]string, len(names))), dtypes)
	g, err := s.Finalize()
	if err != nil {
		return nil, fmt.Errorf("tfgraph: checkpoint %s: %w", prefix, err)
	}
	sess, err := tfrun.NewSession(g, tfrun.SessionConfig{Device: tfrun.DeviceChoice{Kind: tfrun.DeviceCPU}})
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	pt, err := tfrun.NewTensor(prefix)
	if err != nil {
		return nil, err
	}
	defer tfrun.Close(pt)
	res, err := sess.Run(map[tf.Output]*tf.Tensor{p: pt}, outs, nil)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: reading checkpoint %s: %w", prefix, err)
	}
	defer tfrun.Close(res...)
	out := map[string]tfrun.Array{}
	for i, n := range names {
		a, err := tfrun.TensorArray(res[i])
		if err != nil {
			return nil, fmt.Errorf("tfgraph: checkpoint %s: %s: %w", prefix, n, err)
		}
		out[n] = a
	}
	return out, nil
}

// ModelFromCheckpoint completes cfg's channel count, width (conv4's) and class count from the shapes of
// the checkpoint's first conv kernel and probe kernel. A checkpoint without a probe kernel (of
// a model without a probe, trained on a dataset without labels) gives NumClasses 0.
func ModelFromCheckpoint(cfg ModelConfig, prefix string) (ModelConfig, error) {
	if _, err := os.Stat(prefix + ".index"); err != nil {
		return cfg, fmt.Errorf("tfgraph: checkpoint %s: %w", prefix, err)
	}
	has, err := tfrun.CheckpointHas(prefix, "probe/kernel")
	if err != nil {
		return cfg, fmt.Errorf("tfgraph: %w", err)
	}
	first := cfg.EncoderVars()[0].Name // the first convolution's kernel: [k, k, channels, filters]
	names := []string{first}
	if has[0] {
		names = append(names, "probe/kernel")
	}
	w, err := ReadCheckpoint(prefix, names)
	if err != nil {
		return cfg, err
	}
	k, p := w[first].Shape, w["probe/kernel"].Shape
	if len(k) != 4 || (has[0] && len(p) != 2) {
		return cfg, fmt.Errorf("tfgraph: checkpoint %s: conv kernel %v and probe kernel %v are not an NNCLR model's", prefix, k, p)
	}
	cfg.Channels, cfg.NumClasses = int(k[2]), 0
	if !cfg.isResNet() {
		cfg.ModelWidth = int(k[3])
	}
	if has[0] {
		cfg.NumClasses = int(p[1])
	}
	return cfg, nil
}
