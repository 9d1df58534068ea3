package savedmodel

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/nnclr/nnclr/internal/kerasfixture"
	"github.com/nnclr/nnclr/internal/testutil"
	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

func TestMain(m *testing.M) {
	code := m.Run()
	kerasfixture.Remove()
	os.Exit(code)
}

// TestLoadPythonSavedModels: the images signature of both Python-saved models (tf.saved_model.save
// and Keras model.export, float32 inputs) run through Load and RunImages give Keras's embeddings.
func TestLoadPythonSavedModels(t *testing.T) {
	fx := kerasfixture.Get(t)
	x := fx.Expected["x"].Data.([]uint8)
	want := fx.Expected["embedding"].Data.([]float32)
	for _, model := range []string{"tfsm", "export"} {
		t.Run(model, func(t *testing.T) {
			m, err := Load(filepath.Join(fx.Dir, model), nil, tfrun.DefaultSessionConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			sig, err := m.ImageSignature(DefaultSignature, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if sig.Uint8 || sig.Height != 40 || sig.Width != 40 || sig.Channels != 3 {
				t.Fatalf("image signature %+v", sig)
			}
			got, d, err := m.RunImages(sig, x, kerasfixture.Images, 40, 40, 3, 1.0/255)
			if err != nil {
				t.Fatal(err)
			}
			if d != kerasfixture.Width || testutil.MaxRel(got, want) > 1e-5 {
				t.Fatalf("dimension %d, relative difference from Keras %.3g (want 16, <= 1e-5)", d, testutil.MaxRel(got, want))
			}
		})
	}
}

// TestReadNNCLRWeights maps the Keras encoder and head onto nnclr's by path and shape: the
// values equal Keras's and a Go model holding them gives Keras's embeddings and projections.
func TestReadNNCLRWeights(t *testing.T) {
	fx := kerasfixture.Get(t)
	mc := tfgraph.DefaultModelConfig()
	mc.Height, mc.Width, mc.ModelWidth, mc.QueueSize = 40, 40, 16, 32
	sc := tfrun.DefaultSessionConfig()
	w, err := ReadNNCLRWeights(filepath.Join(fx.Dir, "tfsm"), mc, sc)
	if err != nil {
		t.Fatal(err)
	}
	if !w.WithHead || len(w.Pairs) != 14 || w.Pairs[2] != (Pair{"enc/conv1/kernel", "encoder/conv2d_1/kernel"}) {
		t.Fatalf("mapping: head %v, pairs %v", w.WithHead, w.Pairs)
	}
	m, err := tfgraph.NewModel(mc, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Init(1); err != nil {
		t.Fatal(err)
	}
	if err := m.SetWeights(w.Values); err != nil {
		t.Fatal(err)
	}
	for _, v := range append(mc.EncoderVars(), mc.HeadVars()...) {
		if !slices.Equal(w.Values[v.Name].Float, fx.Expected[v.Name].Data.([]float32)) {
			t.Errorf("%s differs from the Keras model's", v.Name)
		}
	}
	xt, err := tfrun.NewFloatTensor([]int64{10, 40, 40, 3}, func(d []float32) error {
		for i, v := range fx.Expected["x"].Data.([]uint8) {
			d[i] = float32(v) * float32(1.0/255)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f, p, _, err := m.Forward(xt)
	if err != nil {
		t.Fatal(err)
	}
	if r := testutil.MaxRel(f, fx.Expected["embedding"].Data.([]float32)); r > 1e-5 {
		t.Errorf("features differ from Keras: %.3g", r)
	}
	if r := testutil.MaxRel(p, fx.Expected["projection"].Data.([]float32)); r > 1e-5 {
		t.Errorf("projections differ from Keras: %.3g", r)
	}
	// Keras model.export holds the encoder only.
	if w, err := ReadNNCLRWeights(filepath.Join(fx.Dir, "export"), mc, sc); err != nil || w.WithHead || len(w.Pairs) != 10 {
		t.Fatalf("export: head %v, %d pairs, %v", w.WithHead, len(w.Pairs), err)
	}
	// A model of another width: the error names both shapes.
	mc.ModelWidth = 8
	_, err = ReadNNCLRWeights(filepath.Join(fx.Dir, "tfsm"), mc, sc)
	if !errors.Is(err, ErrNoMapping) || !strings.Contains(err.Error(), "expects kernel [3 3 3 8]") || !strings.Contains(err.Error(), "[3 3 3 16]") {
		t.Fatalf("width mismatch: %v", err)
	}
}

// TestLoadBadInput: broken SavedModels and wrong requests give errors naming what was expected
// and what was found; nothing panics.
func TestLoadBadInput(t *testing.T) {
	fx := kerasfixture.Get(t)
	good := filepath.Join(fx.Dir, "export")
	sc := tfrun.DefaultSessionConfig()

	noPB := testutil.CopyTree(t, good)
	os.Remove(filepath.Join(noPB, "saved_model.pb"))
	if _, err := Load(noPB, nil, sc); err == nil || !strings.Contains(err.Error(), "saved_model.pb") {
		t.Errorf("missing saved_model.pb: %v", err)
	}
	if _, err := Read(noPB); !errors.Is(err, ErrBadModel) {
		t.Errorf("Read without saved_model.pb: %v", err)
	}
	trunc := testutil.CopyTree(t, good)
	pb := filepath.Join(trunc, "saved_model.pb")
	b, _ := os.ReadFile(pb)
	os.WriteFile(pb, b[:len(b)/2], 0o644)
	if _, err := Read(trunc); !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("Read of a truncated saved_model.pb: %v", err)
	}
	if _, err := Load(trunc, nil, sc); err == nil {
		t.Error("a truncated saved_model.pb loaded")
	}
	noShard := testutil.CopyTree(t, good)
	shards, _ := filepath.Glob(filepath.Join(noShard, "variables", "variables.data-*"))
	for _, s := range shards {
		os.Remove(s)
	}
	if _, err := Load(noShard, nil, sc); err == nil || !strings.Contains(err.Error(), noShard) {
		t.Errorf("missing variables shard: %v", err)
	}
	if _, err := Load(good, []string{"train"}, sc); err == nil || !strings.Contains(err.Error(), "[train]") {
		t.Errorf("wrong tag: %v", err)
	}

	m, err := Load(good, nil, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Signature("predict"); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "serve, serving_default") {
		t.Errorf("unknown signature: %v", err)
	}
	sig, _ := m.Signature("serving_default")
	var in string
	for k := range sig.Inputs {
		in = k
	}
	u8, _ := tf.NewTensor(make([]uint8, 2*40*40*3))
	u8.Reshape([]int64{2, 40, 40, 3})
	if _, err := m.Run("serving_default", map[string]*tf.Tensor{in: u8}); !errors.Is(err, ErrSignature) ||
		!strings.Contains(err.Error(), "dtype uint8 given, signature declares float") {
		t.Errorf("wrong dtype: %v", err)
	}
	f, _ := tfrun.NewFloatTensor([]int64{2, 32, 32, 3}, func(d []float32) error { return nil })
	if _, err := m.Run("serving_default", map[string]*tf.Tensor{in: f}); !errors.Is(err, ErrSignature) ||
		!strings.Contains(err.Error(), "shape [2 32 32 3] given") {
		t.Errorf("wrong shape: %v", err)
	}
	if _, err := m.Run("serving_default", map[string]*tf.Tensor{}); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "not given") {
		t.Errorf("missing input: %v", err)
	}
	var se *setting.Error
	if _, err := m.ImageSignature("serving_default", "", "nope"); !errors.As(err, &se) || se.Name != "output_key" ||
		!strings.Contains(err.Error(), `no output "nope" (it has [output_0])`) {
		t.Errorf("unknown output key: %v", err)
	}
	if _, err := m.ImageSignature("serving_default", "nope", ""); !errors.As(err, &se) || se.Name != "input_key" {
		t.Errorf("unknown input key: %v", err)
	}
}

// TestLoadChecksDeviceAndPrecision: a SavedModel's session gets the checks a run's model gets
// (tfrun.LoadSavedModel): a GPU asked for on a host without one is tfrun.ErrNoGPU, fp16 on the
// CPU is tfrun.ErrPrecision, each naming the SavedModel; on the CPU in fp32 it loads.
func TestLoadChecksDeviceAndPrecision(t *testing.T) {
	fx := kerasfixture.Get(t)
	dir := filepath.Join(fx.Dir, "tfsm")
	devs, err := tfrun.ListDevices(tfrun.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	hasGPU := slices.ContainsFunc(devs, func(d tfrun.Device) bool { return d.Type == "GPU" })
	cases := []struct {
		name string
		sc   tfrun.SessionConfig
		want error
	}{
		{"fp16 on cpu", tfrun.SessionConfig{Device: tfrun.DeviceChoice{Kind: tfrun.DeviceCPU}, Precision: tfrun.FP16}, tfrun.ErrPrecision},
		{"cpu fp32", tfrun.SessionConfig{Device: tfrun.DeviceChoice{Kind: tfrun.DeviceCPU}}, nil},
	}
	if !hasGPU {
		cases = append(cases, struct {
			name string
			sc   tfrun.SessionConfig
			want error
		}{"gpu without one", tfrun.SessionConfig{Device: tfrun.DeviceChoice{Kind: tfrun.DeviceGPU}}, tfrun.ErrNoGPU})
	}
	for _, c := range cases {
		m, err := Load(dir, nil, c.sc)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			m.Close()
			continue
		}
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: error %v, want %v naming %s", c.name, err, c.want, dir)
		}
	}
}
