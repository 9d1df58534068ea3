package tfgraph

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/nnclr/nnclr/internal/testutil"
	"github.com/nnclr/nnclr/tfrun"
)

// stepData is one global batch: per image of the global batch (unlabelled rows then labelled
// rows) its two views, and the probe view and label of each labelled image.
type stepData struct {
	v1, v2 [][]float32
	px     [][]float32
	py     []int64
}

func makeStepData(r *rand.Rand, cfg ModelConfig, u, l int) stepData {
	px := cfg.Height * cfg.Width * cfg.Channels
	img := func() []float32 {
		x := make([]float32, px)
		for i := range x {
			x[i] = r.Float32()
		}
		return x
	}
	var d stepData
	for range u + l {
		d.v1, d.v2 = append(d.v1, img()), append(d.v2, img())
	}
	for range l {
		d.px = append(d.px, img())
		d.py = append(d.py, int64(r.IntN(cfg.NumClasses)))
	}
	return d
}

// batch returns the step's tensors for rows (indices into the global batch's images) and
// probe rows (indices into its labelled images).
func (d stepData) batch(t testing.TB, cfg ModelConfig, rows, probe []int) Batch {
	h, w, c := int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels)
	var views, px []float32
	for _, v := range [][][]float32{d.v1, d.v2} {
		for _, i := range rows {
			views = append(views, v[i]...)
		}
	}
	var py []int64
	for _, i := range probe {
		px = append(px, d.px[i]...)
		py = append(py, d.py[i])
	}
	vt, err := tfrun.NewFloatTensor([]int64{2 * int64(len(rows)), h, w, c}, func(x []float32) error { copy(x, views); return nil })
	if err != nil {
		t.Fatal(err)
	}
	pt, err := tfrun.NewFloatTensor([]int64{int64(len(probe)), h, w, c}, func(x []float32) error { copy(x, px); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.HasProbe() {
		tfrun.Close(pt)
		return Batch{Views: vt}
	}
	yt, err := tf.NewTensor(py)
	if err != nil {
		t.Fatal(err)
	}
	return Batch{Views: vt, ProbeX: pt, ProbeY: yt}
}

func seq(lo, hi int) []int {
	out := []int{}
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

// TestDataParallelEqualsOneProcess runs 2 and 3 workers (sessions on their own gRPC servers on
// 127.0.0.1, in this process) for three steps of global batches and compares every variable
// (weights, both Adams' slots and counters, the queue, the batch norms' moving statistics) and the
// metrics with one process training on the same global batches, and the workers with each other;
// the workers other than the chief start from other weights and take the chief's by
// SyncFromChief. The workers are bit-identical to each other. Against one process the test allows
// parallelTolerance relative (max |difference| / max |value| per variable): the workers sum their
// share of the gradient where one process sums the whole batch in one kernel, and float32 sums in
// another order differ. The test logs the worst variable and its difference (go test -v -run
// DataParallelEqualsOneProcess ./tfgraph/): typically the first conv's bias or its Adam moment (a
// sum over every pixel of every image), of the size of the difference between nnclr and Keras on
// one process (stepTolerance).
//
// The models: the example's (96×96×3, 8 unlabelled + 4 labelled images per worker, three steps);
// the same without a probe (a dataset without labels: the global batch is unlabelled images
// only); with the paper's heads (HeadBN and a prediction head); and ResNet-18 with the CIFAR stem
// at 16×16×3 (2 + 1 images per worker, two steps: resnetParallelCase says why; on 3 workers in
// make test-long only, NNCLR_LONG_CHECKS=1, as it takes 20 s). The last two
// have batch norms in the train step, which the workers synchronise (syncBN): their statistics
// are the global batch's, forward and backward. Those two run Adam at ε = 1e-3 as their Keras
// cross-checks do (TestPaperOptionsMatchKeras), and the encoder's dense bias
// before the heads' BN is held to bnDenseBiasTolerance as there. LARS under warmup-cosine is
// checked on 2 workers too (its trust ratios come from the summed gradients).
const parallelTolerance = 5e-5

// parallelCase is one comparison of TestDataParallelEqualsOneProcess.
type parallelCase struct {
	name                       string
	cfg                        ModelConfig
	workers, uPer, lPer, steps int
	dataSeed                   uint64 // the batches' (0: 7)
}

func TestDataParallelEqualsOneProcess(t *testing.T) {
	base := smallConfig()
	base.Height, base.Width, base.QueueSize = 96, 96, 64
	noProbe, heads := base, base
	noProbe.NumClasses = 0
	lars := base
	lars.Optimizer, lars.LearningRate, lars.WeightDecay, lars.LARSEta = OptimizerLARS, 2, 1e-3, 0.02
	lars.LRSchedule, lars.WarmupSteps, lars.TotalSteps = ScheduleWarmupCosine, 1, 4
	heads.HeadBN, heads.PredHidden, heads.Epsilon = true, 32, 1e-3
	for _, tc := range []parallelCase{
		{"2 workers", base, 2, 8, 4, 3, 0},
		{"3 workers", base, 3, 8, 4, 3, 0},
		{"2 workers, no probe", noProbe, 2, 8, 0, 3, 0},
		{"2 workers, head BN", heads, 2, 8, 4, 3, 0},
		{"3 workers, head BN", heads, 3, 8, 4, 3, 0},
		{"2 workers, lars warmup-cosine", lars, 2, 8, 4, 3, 0},
		resnetParallelCase(2),
		resnetParallelCase(3),
		resnetParallelCase64(2),
		resnetParallelCase64(3),
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.isResNet() && tc.workers > 2 && os.Getenv("NNCLR_LONG_CHECKS") != "1" {
				t.Skip("20 s more: make test-long (NNCLR_LONG_CHECKS=1) runs it; 3 workers with batch norm are checked with the heads' BN")
			}
			checkDataParallel(t, tc)
		})
	}
}

// resnetParallelCase is ResNet-18 (CIFAR stem, 16×16×3, heads of 64 and 32) on workers.
//
// Synchronised batch norm sums each BN's moments in another order than one process does, so the
// forward pass differs at rounding level, and a ReLU after a BN sees about a million values per
// step: where one lies within rounding of 0, one process and the workers take the two sides of
// the kink and that element's gradient differs by its whole size (measured: a single such
// element moved an Adam moment of conv3_block1 by 7% after one step at 16×16 with Init's BN).
// It is the ReLU's form of the nearest-neighbour near-tie (DESIGN, "Numerics"). The case keeps
// such values rare: liftEncoderBN's offsets put most BN outputs well above the kink, the images
// have distinct colours (distinctColours), the batch is small, and it compares two steps. With
// this seed no value falls on a kink for 2 or 3 workers; of the data seeds 7..12, four hit one
// within two steps for 2 or 3 workers (errors of 0.6-9%, not of 5e-5; measured 2026-12-06 after
// one process's batch-norm backward became the fused kernel, whose rounding differs from the
// workers' formula: seed 7, the seed before, then failed on 3 workers), so another change of
// rounding may need another seed. resnetParallelCase64 is the same check without that
// fragility.
func resnetParallelCase(workers int) parallelCase {
	c := smallConfig()
	c.Height, c.Width, c.QueueSize, c.Backbone, c.Stem = 16, 16, 64, BackboneResNet18, StemCIFAR
	c.ProjHidden, c.ProjDim, c.Epsilon = 64, 32, 1e-3
	return parallelCase{fmt.Sprintf("%d workers, resnet18", workers), c, workers, 2, 1, 2, 10}
}

// resnetParallelCase64 is resnetParallelCase in the tests' float64 model (ModelConfig.testFloat64)
// at Init's batch-norm offsets, data seed 7: float64 rounding puts no ReLU input within reach of
// the kink, so the check needs neither lifted offsets nor a chosen seed (measured 2026-12-06,
// worst of 2 and 3 workers: 1.8e-8 at seed 7, at most 1.6e-8 at seeds 8, 9 and 12, three of
// those float32 fails on).
func resnetParallelCase64(workers int) parallelCase {
	c := resnetParallelCase(workers)
	c.name, c.cfg.testFloat64, c.dataSeed = c.name+", float64", true, 7
	return c
}

// checkDataParallel trains one process and tc.workers workers on the same global batches and
// compares them (compareWorkers).
func checkDataParallel(t *testing.T, tc parallelCase) {
	seed := tc.dataSeed
	if seed == 0 {
		seed = 7
	}
	r := rand.New(rand.NewPCG(seed, uint64(tc.workers)))
	u, l := tc.workers*tc.uPer, tc.workers*tc.lPer
	data := make([]stepData, tc.steps)
	for i := range data {
		data[i] = makeStepData(r, tc.cfg, u, l)
	}
	if tc.cfg.isResNet() {
		for i := range data {
			distinctColours(r, &data[i])
		}
	}
	single := newInitModel(t, tc.cfg, 21)
	if tc.cfg.isResNet() && !tc.cfg.testFloat64 {
		liftEncoderBN(t, single)
	}
	var want []Metrics
	for _, d := range data {
		m, err := single.TrainStep(d.batch(t, tc.cfg, seq(0, u+l), seq(0, l)))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}
	models, got := trainWorkers(t, tc.cfg, tc.workers, tc.uPer, tc.lPer, data)
	compareWorkers(t, single, models, want, got[0])
}

// trainWorkers starts workers data-parallel models of cfg on 127.0.0.1, each with its share of
// uPer unlabelled and lPer labelled images, checks the cluster, takes the chief's variables
// and trains on every global batch of data; it returns the models and each worker's metrics.
func trainWorkers(t *testing.T, cfg ModelConfig, workers, uPer, lPer int, data []stepData) ([]*Model, [][]Metrics) {
	t.Helper()
	addrs := testutil.FreeAddrs(t, workers)
	models := make([]*Model, workers)
	for w := range workers {
		cl := tfrun.Cluster{Workers: addrs, Task: w, Timeout: 30 * time.Second}
		target, err := tfrun.StartServer(cl, tfrun.DefaultSessionConfig())
		if err != nil {
			t.Fatal(err)
		}
		wc := cfg
		wc.Parallel = &DataParallel{Workers: workers, Task: w, Unlabelled: uPer, Labelled: lPer, Timeout: 30 * time.Second}
		m, err := NewModel(wc, tfrun.SessionConfig{Cluster: &cl, Target: target})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		// Only the chief starts from the run's seed: SyncFromChief gives the others its state.
		if err := m.Init(21 + uint64(w)*1000); err != nil {
			t.Fatal(err)
		}
		if w == 0 && cfg.isResNet() && !cfg.testFloat64 {
			liftEncoderBN(t, m)
		}
		models[w] = m
	}
	// Every worker's part: its unlabelled slice and its labelled slice of each global batch.
	u := workers * uPer
	got := make([][]Metrics, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[w] = models[w].CheckCluster(42); errs[w] != nil {
				return
			}
			if errs[w] = models[w].SyncFromChief(); errs[w] != nil {
				return
			}
			rows := append(seq(w*uPer, (w+1)*uPer), seq(u+w*lPer, u+(w+1)*lPer)...)
			for _, d := range data {
				m, err := models[w].TrainStep(d.batch(t, cfg, rows, seq(w*lPer, (w+1)*lPer)))
				if err != nil {
					errs[w] = err
					return
				}
				got[w] = append(got[w], m)
			}
		}()
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", w, err)
		}
	}
	return models, got
}

// liftEncoderBN gives the encoder's batch norms random scales in [0.5, 1.5] and offsets in
// [1.5, 2.5] (the same on every call): a ReLU after a BN then sees values centred well above its
// kink, instead of on it as with Init's offsets of 0 (resnetParallelCase). Larger offsets make
// the images' features alike, and the loss's gradient at the heads' biases a small difference of
// large terms (measured with [3, 5]: up to 4e-4 relative in the heads' last layer between one
// process and a data-parallel model on a single worker, which has no cross-worker terms at all).
func liftEncoderBN(t *testing.T, m *Model) {
	t.Helper()
	setUniform(t, m, rand.New(rand.NewPCG(5, 6)), m.cfg.EncoderVars(), func(name string) (float64, float64, bool) {
		switch {
		case strings.HasSuffix(name, "_bn/beta"):
			return 1.5, 2.5, true
		case strings.HasSuffix(name, "_bn/gamma"):
			return 0.5, 1.5, true
		}
		return 0, 0, false
	})
}

// parallelRelErr is variable name's max |got − want| / max |want|, but for a batch norm's moving
// mean over max(max |want|, √max want's moving variance): a batch mean's rounding error scales
// with the spread of the values averaged, and the mean itself can be nearly zero (the prediction
// head's BN takes a linear map of a BN's output, whose batch mean is beta: zero at the start).
func parallelRelErr(want, got map[string]tfrun.Array, name string) float64 {
	a, b := want[name].Float, got[name].Float
	diff, scale := 0.0, 1e-6 // testutil.MaxRel's floor
	for i := range a {
		diff, scale = max(diff, math.Abs(float64(b[i]-a[i]))), max(scale, math.Abs(float64(a[i])))
	}
	if base, ok := strings.CutSuffix(name, "/moving_mean"); ok {
		for _, v := range want[base+"/moving_variance"].Float {
			scale = max(scale, math.Sqrt(float64(v)))
		}
	}
	return diff / scale
}

// compareWorkers checks the workers' variables against one process's (parallelTolerance) and
// against each other's (bit-identical), and the chief's metrics got against one process's want.
func compareWorkers(t *testing.T, single *Model, models []*Model, want, got []Metrics) {
	t.Helper()
	ref, err := single.Weights()
	if err != nil {
		t.Fatal(err)
	}
	w0, err := models[0].Weights()
	if err != nil {
		t.Fatal(err)
	}
	worst, worstName := 0.0, ""
	for name, a := range ref {
		b := w0[name]
		if !slices.Equal(a.Int, b.Int) {
			t.Errorf("%s: %v, one process %v", name, b.Int, a.Int)
		}
		e := parallelRelErr(ref, w0, name)
		if single.Config().HeadBN && name == "enc/dense/bias" {
			// Rounding noise turned into steps by Adam, as in TestPaperOptionsMatchKeras.
			if e > bnDenseBiasTolerance {
				t.Errorf("%s differs from one process by %.3g relative > %g", name, e, bnDenseBiasTolerance)
			}
			t.Logf("%s (a dense bias before the heads' BN): %.3g relative to one process", name, e)
			continue
		}
		if e > worst {
			worst, worstName = e, name
		}
	}
	if worst > parallelTolerance {
		t.Errorf("worst variable %s differs from one process by %.3g relative", worstName, worst)
	}
	t.Logf("%d workers: worst variable %s, %.3g relative to one process", len(models), worstName, worst)
	for w := 1; w < len(models); w++ {
		ww, err := models[w].Weights()
		if err != nil {
			t.Fatal(err)
		}
		for name, a := range w0 {
			if !slices.Equal(a.Float, ww[name].Float) || !slices.Equal(a.Int, ww[name].Int) {
				t.Errorf("worker %d's %s differs from worker 0's", w, name)
			}
		}
	}
	for i, m := range want {
		g := got[i]
		for _, c := range [][2]float64{{m.CLoss, g.CLoss}, {m.PLoss, g.PLoss}, {m.CAcc, g.CAcc}, {m.RAcc, g.RAcc}, {m.PAcc, g.PAcc}} {
			if math.Abs(c[0]-c[1]) > 1e-5*math.Max(1, math.Abs(c[0])) {
				t.Errorf("step %d: metrics %+v, one process %+v", i+1, g, m)
				break
			}
		}
	}
}

// parallelPair builds the workers' models of a cluster of n on 127.0.0.1 with timeout, and
// returns those whose tasks are in start (the others never come up).
func parallelModels(t *testing.T, n int, start []int, timeout time.Duration) []*Model {
	t.Helper()
	cfg := smallConfig()
	addrs := testutil.FreeAddrs(t, n)
	var out []*Model
	for _, w := range start {
		cl := tfrun.Cluster{Workers: addrs, Task: w, Timeout: timeout}
		target, err := tfrun.StartServer(cl, tfrun.DefaultSessionConfig())
		if err != nil {
			t.Fatal(err)
		}
		wc := cfg
		wc.Parallel = &DataParallel{Workers: n, Task: w, Unlabelled: 2, Labelled: 1, Timeout: timeout}
		m, err := NewModel(wc, tfrun.SessionConfig{Cluster: &cl, Target: target})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		out = append(out, m)
	}
	return out
}

// TestCheckClusterRefuses: a worker with another fingerprint (other settings) is named; a worker
// that never comes up makes the check fail within the timeout instead of waiting forever.
func TestCheckClusterRefuses(t *testing.T) {
	ms := parallelModels(t, 2, []int{0, 1}, 20*time.Second)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for w, fp := range []uint64{7, 8} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[w] = ms[w].CheckCluster(fp) }()
	}
	wg.Wait()
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "worker 1 runs other settings") ||
		errs[1] == nil || !strings.Contains(errs[1].Error(), "worker 0 runs other settings") {
		t.Fatalf("different settings: %v / %v", errs[0], errs[1])
	}

	alone := parallelModels(t, 2, []int{0}, 2*time.Second)
	t0 := time.Now()
	err := alone[0].CheckCluster(7)
	if err == nil || !strings.Contains(err.Error(), "did not all answer within 2s") {
		t.Fatalf("a missing worker: %v", err)
	}
	if d := time.Since(t0); d > 30*time.Second {
		t.Fatalf("the check took %s with a 2 s timeout", d)
	}
	t.Logf("missing worker reported after %s: %v", time.Since(t0).Round(time.Millisecond), err)
}

// BenchmarkDataParallelStep measures, at the seed configuration (96×96×3, width 128, queue
// 10,000, a global batch of 500 unlabelled + 25 labelled images; 2 workers here take 250 + 12, so
// the global batch is 524), the train step of one process against two workers in this process on
// 127.0.0.1, and what the workers exchange per step: the four gathers (each worker's projections
// and features, [rows, 128] float32) and the two all-reduces (every encoder and head gradient, then
// the probe's). The two workers share this machine's 2 cores, so their step is not faster; the
// figures that carry over to separate hosts are the bytes per step and the collectives' time.
func BenchmarkDataParallelStep(b *testing.B) {
	cfg := DefaultModelConfig()
	const uPer, lPer, workers = 250, 12, 2
	u, l := workers*uPer, workers*lPer
	r := rand.New(rand.NewPCG(3, 3))
	data := makeStepData(r, cfg, u, l)
	single := newInitModel(b, cfg, 5)
	stepTime := func(run func() error) float64 {
		if err := run(); err != nil { // warm-up
			b.Fatal(err)
		}
		var secs []float64
		for range 3 {
			t0 := time.Now()
			if err := run(); err != nil {
				b.Fatal(err)
			}
			secs = append(secs, time.Since(t0).Seconds())
		}
		slices.Sort(secs)
		return secs[1]
	}
	one := stepTime(func() error {
		_, err := single.TrainStep(data.batch(b, cfg, seq(0, u+l), seq(0, l)))
		return err
	})
	addrs := testutil.FreeAddrs(b, workers)
	models := make([]*Model, workers)
	for w := range workers {
		cl := tfrun.Cluster{Workers: addrs, Task: w}
		target, err := tfrun.StartServer(cl, tfrun.DefaultSessionConfig())
		if err != nil {
			b.Fatal(err)
		}
		wc := cfg
		wc.Parallel = &DataParallel{Workers: workers, Task: w, Unlabelled: uPer, Labelled: lPer}
		if models[w], err = NewModel(wc, tfrun.SessionConfig{Cluster: &cl, Target: target}); err != nil {
			b.Fatal(err)
		}
		defer models[w].Close()
		if err := models[w].Init(5); err != nil {
			b.Fatal(err)
		}
	}
	both := func(f func(w int) error) error {
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() { defer wg.Done(); errs[w] = f(w) }()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	two := stepTime(func() error {
		return both(func(w int) error {
			rows := append(seq(w*uPer, (w+1)*uPer), seq(u+w*lPer, u+(w+1)*lPer)...)
			_, err := models[w].TrainStep(data.batch(b, cfg, rows, seq(w*lPer, (w+1)*lPer)))
			return err
		})
	})
	// The collectives alone: every variable broadcast from the chief is the same kind of
	// exchange; time the gathers and all-reduces through a step's worth of bytes instead: the
	// cluster check (a tiny gather) gives the fixed cost per collective.
	check := stepTime(func() error { return both(func(w int) error { return models[w].CheckCluster(1) }) })
	enc, head := 0, 0
	for _, v := range cfg.EncoderVars() {
		enc += int(v.size())
	}
	for _, v := range cfg.HeadVars() {
		head += int(v.size())
	}
	probe := cfg.ModelWidth*cfg.NumClasses + cfg.NumClasses + 2
	n := uPer + lPer
	// Per worker and step, on a ring: a gather receives the other workers' rows; an all-reduce
	// sends and receives 2·(workers−1)/workers of the vector.
	gather := 4 * (workers - 1) * n * cfg.ModelWidth * 4
	reduce := 2 * (workers - 1) * (enc + head + probe) * 4 / workers
	b.ReportMetric(one*1000, "one-process-step-ms")
	b.ReportMetric(two*1000, "two-workers-step-ms")
	b.ReportMetric(check*1000, "collective-round-trip-ms")
	b.ReportMetric(float64(gather+reduce)/1e6, "MB-per-worker-step")
	b.Logf("per worker and step: gathers %.2f MB, all-reduces %.2f MB (%d parameters); a collective round trip %.2f ms on loopback",
		float64(gather)/1e6, float64(reduce)/1e6, enc+head+probe, check*1000)
}

// distinctColours gives every image of d its own colour under a weaker noise (0.8·colour +
// 0.2·image, as the ResNet cross-checks' images): uniform noise images look alike to a freshly
// initialised ResNet, whose projections then nearly tie in the nearest-neighbour argmax.
func distinctColours(r *rand.Rand, d *stepData) {
	for _, set := range [][][]float32{d.v1, d.v2, d.px} {
		for _, img := range set {
			colour := [3]float32{r.Float32(), r.Float32(), r.Float32()}
			for i := range img {
				img[i] = 0.8*colour[i%3] + 0.2*img[i]
			}
		}
	}
}

// TestSyncBNRunsOneBackward: the synchronised batch norms' segment-wise backward pass builds some
// gradient ops twice (syncBN.gradients), which Grappler must merge: a data-parallel resnet18 step
// (one worker, so without other processes) runs as many convolution kernels of each kind as one
// process's step.
func TestSyncBNRunsOneBackward(t *testing.T) {
	c := smallConfig()
	c.Height, c.Width, c.QueueSize, c.Backbone, c.Stem = 16, 16, 64, BackboneResNet18, StemCIFAR
	d := makeStepData(rand.New(rand.NewPCG(1, 1)), c, 2, 1)
	kernels := func(m *Model) map[string]int {
		ops, err := m.TraceStep(d.batch(t, c, seq(0, 3), seq(0, 1)))
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, o := range ops {
			if strings.Contains(o.Op, "Conv2D") {
				n[o.Op]++
			}
		}
		return n
	}
	want := kernels(newInitModel(t, c, 1))
	cl := tfrun.Cluster{Workers: testutil.FreeAddrs(t, 1), Timeout: 30 * time.Second}
	target, err := tfrun.StartServer(cl, tfrun.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	c.Parallel = &DataParallel{Workers: 1, Unlabelled: 2, Labelled: 1, Timeout: 30 * time.Second}
	m, err := NewModel(c, tfrun.SessionConfig{Cluster: &cl, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.Init(1); err != nil {
		t.Fatal(err)
	}
	got := kernels(m)
	if !maps.Equal(got, want) {
		t.Fatalf("convolution kernels per step: data-parallel %v, one process %v", got, want)
	}
	t.Logf("convolution kernels per step: %v", got)
}
