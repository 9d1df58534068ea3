package run

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/tfrun"
	"github.com/nnclr/nnclr/train"
)

// BenchmarkTimeToAccuracy measures how long nnclr --precision bf16 trains to reach the
// frozen-feature linear-probe accuracy the Keras reference (fp32) reaches after a fixed number
// of steps, on real Fashion-MNIST (6,000 train / 6,000 test images resized to 32×32×3 by both,
// width 128, queue 2,000, 300 unlabelled + 300 labelled images per step, seed 1, 2 intra- and
// inter-op threads). Keras trains ttaEpochs × ttaSteps steps from the same tfds directory and
// writes its weights; nnclr's linear probe (linearTop1) evaluates its encoder. nnclr bf16 trains
// up to twice as many steps, checkpointing every epoch, and each checkpoint is evaluated by the
// same probe, stopping at the first that reaches Keras's accuracy; nnclr fp32 the same way, for
// comparison. Training time on both sides is the sum of the step times (input pipeline
// included; start-up, Keras's tf.function tracing inside its first step, and nnclr's checkpoint
// saves inside its steps' times). Reported: Keras's accuracy and time, the first nnclr
// checkpoint at or above it, its time, and Keras's time over nnclr's (above 1: nnclr is faster).
func BenchmarkTimeToAccuracy(b *testing.B) {
	if !tfrun.HostCPUFeatures().BF16() {
		b.Skipf("this CPU has %s: bf16 cannot run here", tfrun.HostCPUFeatures())
	}
	const ttaEpochs, ttaSteps, threads = 4, 20, 2
	dataDir := fashion(b, 6000)
	cfg := DefaultConfig()
	cfg.Dataset, cfg.DataDir, cfg.Seed = "fashion_mnist", dataDir, 1
	cfg.ImageSize, cfg.Channels, cfg.StepsPerEpoch, cfg.QueueSize = 32, 3, ttaSteps, 2000
	cfg.IntraOpThreads, cfg.InterOpThreads = threads, threads
	for i := 0; i < b.N; i++ {
		// The Keras reference, fp32.
		npz := filepath.Join(b.TempDir(), "keras.npz")
		out := testpy.Run(b, "../pyref/nnclr_keras.py", "train", "--tfds-dir", filepath.Join(dataDir, "fashion_mnist", "3.0.1"),
			"--unlabelled-split", "train", "--image-size", "32", "--channels", "3",
			"--epochs", fmt.Sprint(ttaEpochs), "--steps-per-epoch", fmt.Sprint(ttaSteps), "--width", "128", "--queue", "2000",
			"--temperature", "0.1", "--intra-op-threads", fmt.Sprint(threads), "--inter-op-threads", fmt.Sprint(threads),
			"--seed", "1", "--weights-npz", npz)
		var kr struct {
			StepSeconds []float64 `json:"step_seconds"`
			Unlabelled  int       `json:"unlabelled_batch"`
			Labelled    int       `json:"labelled_batch"`
		}
		if err := json.Unmarshal(out, &kr); err != nil {
			b.Fatalf("keras reference: %v\n%s", err, out)
		}
		kerasSecs := 0.0
		for _, s := range kr.StepSeconds {
			kerasSecs += s
		}
		if len(kr.StepSeconds) != ttaEpochs*ttaSteps || kr.Unlabelled != 300 || kr.Labelled != 300 {
			b.Fatalf("keras reference ran %d steps of %d+%d images", len(kr.StepSeconds), kr.Unlabelled, kr.Labelled)
		}

		// Keras's encoder through nnclr's probe, in a model of the same configuration.
		z, err := npy.ReadNPZ(npz)
		if err != nil {
			b.Fatal(err)
		}
		vals := map[string]tfrun.Array{}
		for name, a := range z {
			if !strings.HasPrefix(name, "enc/") {
				continue
			}
			f, ok := a.Data.([]float32)
			if !ok {
				b.Fatalf("%s in %s is %T, want float32", name, npz, a.Data)
			}
			shape := make([]int64, len(a.Shape))
			for i, d := range a.Shape {
				shape[i] = int64(d)
			}
			vals[name] = tfrun.Array{Shape: shape, Float: f}
		}
		if len(vals) != 10 {
			b.Fatalf("%d encoder variables in %s, want 10", len(vals), npz)
		}
		kr32, err := Create(filepath.Join(b.TempDir(), "keras"), cfg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := kr32.Model.SetWeights(vals); err != nil {
			b.Fatal(err)
		}
		kerasAcc := linearTop1(b, kr32.Model, kr32.Dataset)
		kr32.Close()

		fmt.Printf("time to accuracy on Fashion-MNIST 32x32x3 (300+300 images per step, width 128, seed 1, %d threads):\n", threads)
		fmt.Printf("  Keras fp32: %d steps in %.1f s of step time, linear top-1 %.4f\n", ttaEpochs*ttaSteps, kerasSecs, kerasAcc)
		b.ReportMetric(kerasAcc, "keras-fp32-top1")
		b.ReportMetric(kerasSecs, "keras-fp32-s")
		for _, p := range []string{"bf16", "fp32"} {
			reached, secs := nnclrToAccuracy(b, cfg, p, 2*ttaEpochs, kerasAcc)
			if reached == 0 {
				fmt.Printf("  nnclr %s did not reach %.4f within %d steps (%.1f s): Keras/nnclr time ratio below %.2f\n",
					p, kerasAcc, 2*ttaEpochs*ttaSteps, secs, kerasSecs/secs)
				b.ReportMetric(0, p+"-reached-step")
				continue
			}
			fmt.Printf("  nnclr %s reached it at step %d after %.1f s: Keras time / nnclr time = %.2f\n", p, reached, secs, kerasSecs/secs)
			b.ReportMetric(float64(reached), p+"-reached-step")
			b.ReportMetric(secs, p+"-s-to-acc")
			b.ReportMetric(kerasSecs/secs, "keras/"+p+"-time")
		}
	}
}

// nnclrToAccuracy trains cfg in precision p for epochs epochs, checkpointing every epoch, then
// evaluates each checkpoint with linearTop1 and prints it. It returns the first step whose probe
// reaches target and the training time to it (the sum of the step times), or 0 and the whole
// training time.
func nnclrToAccuracy(b *testing.B, cfg Config, p string, epochs int, target float64) (int64, float64) {
	cfg.Precision, cfg.Epochs = tfrun.Precision(p), epochs
	tr, err := Create(filepath.Join(b.TempDir(), p), cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	// The Keras script does not validate during training: neither does this run.
	tr.Loop.SkipValidation, tr.Loop.CheckpointEvery, tr.Loop.Keep, tr.Loop.CheckpointSecs = true, cfg.StepsPerEpoch, 0, 0
	cum := map[int64]float64{}
	total := 0.0
	if err := tr.Train(context.Background(), train.Hooks{OnStep: func(s train.StepInfo) {
		total += s.Duration.Seconds()
		cum[s.GlobalStep] = total
	}}); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("  nnclr %s checkpoints:\n", p)
	for step := int64(cfg.StepsPerEpoch); step <= int64(epochs*cfg.StepsPerEpoch); step += int64(cfg.StepsPerEpoch) {
		prefix := filepath.Join(tr.Dir, CheckpointsDir, fmt.Sprintf("ckpt-%d", step))
		if _, err := os.Stat(prefix + ".index"); err != nil {
			b.Fatalf("checkpoint of step %d: %v", step, err)
		}
		if err := tr.Model.Restore(prefix); err != nil {
			b.Fatal(err)
		}
		acc := linearTop1(b, tr.Model, tr.Dataset)
		fmt.Printf("    step %3d: %6.1f s, linear top-1 %.4f\n", step, cum[step], acc)
		if acc >= target {
			return step, cum[step]
		}
	}
	return 0, total
}
