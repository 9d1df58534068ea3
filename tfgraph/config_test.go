package tfgraph

import (
	"math"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/tfrun"
)

func TestModelConfigValidate(t *testing.T) {
	good := DefaultModelConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if h, w := (conv4{good}).featureMap(); h != 5 || w != 5 {
		t.Fatalf("feature map at 96x96: %dx%d, want 5x5", h, w)
	}
	if enc, _ := good.ForwardFLOPs(); enc < 2e8 || enc > 2.3e8 {
		t.Fatalf("encoder forward FLOPs at 96x96: %.3g", enc)
	}
	mod := func(f func(*ModelConfig)) ModelConfig { c := good; f(&c); return c }
	for _, tc := range []struct {
		name string
		cfg  ModelConfig
		want string
	}{
		{"too small", mod(func(c *ModelConfig) { c.Height, c.Width = 30, 30 }), "height 30: input 30×30 too small"},
		{"one class", mod(func(c *ModelConfig) { c.NumClasses = 1 }), "num_classes 1:"},
		{"no channels", mod(func(c *ModelConfig) { c.Channels = 0 }), "channels 0:"},
		{"zero width", mod(func(c *ModelConfig) { c.ModelWidth = 0 }), "model_width 0:"},
		{"temperature", mod(func(c *ModelConfig) { c.Temperature = 0 }), "temperature 0:"},
		{"NaN learning rate", mod(func(c *ModelConfig) { c.LearningRate = math.NaN() }), "learning_rate NaN:"},
		{"beta1", mod(func(c *ModelConfig) { c.Beta1 = 1 }), "beta1 1:"},
		{"queue", mod(func(c *ModelConfig) { c.QueueSize = 0 }), "queue_size 0:"},
		{"top-k over the queue", mod(func(c *ModelConfig) { c.SupportTopK, c.QueueSize = 11, 10 }), "support_topk 11: more neighbours than the queue's 10 rows"},
		{"negative predictor", mod(func(c *ModelConfig) { c.PredHidden = -1 }), "pred_hidden -1:"},
		{"negative projection", mod(func(c *ModelConfig) { c.ProjDim = -1 }), "proj_dim -1:"},
		{"unknown optimizer", mod(func(c *ModelConfig) { c.Optimizer = "adagrad" }), "optimizer adagrad: want one of adam, sgd, lars"},
		{"LARS without eta", mod(func(c *ModelConfig) { c.Optimizer, c.LARSEta = OptimizerLARS, 0 }), "lars_eta 0:"},
		{"schedule without steps", mod(func(c *ModelConfig) { c.LRSchedule = ScheduleWarmupCosine }), "total_steps 0: warmup-cosine needs the run's total steps"},
		{"warm-up as long as the run", mod(func(c *ModelConfig) { c.LRSchedule, c.WarmupSteps, c.TotalSteps = ScheduleWarmupCosine, 10, 10 }), "warmup_steps 10: want >= 0 and below the 10 total steps"},
		{"negative probe rate", mod(func(c *ModelConfig) { c.ProbeLearningRate = -1 }), "probe_learning_rate -1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, err := NewModel(tc.cfg, tfrun.DefaultSessionConfig()); err == nil {
				t.Fatal("NewModel accepted an invalid config")
			}
		})
	}
	// Batch norm in data-parallel training is synchronised across the workers (syncBN), so the
	// heads' BN and a ResNet are valid there.
	par := &DataParallel{Workers: 2, Task: 0, Unlabelled: 2, Labelled: 2}
	for _, c := range []ModelConfig{
		mod(func(c *ModelConfig) { c.HeadBN, c.Parallel = true, par }),
		mod(func(c *ModelConfig) { c.Backbone, c.Height, c.Width, c.Parallel = BackboneResNet18, 32, 32, par }),
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("head_bn %v, backbone %q, data-parallel: %v", c.HeadBN, c.Backbone, err)
		}
	}
	// The smallest input that works builds a model.
	m, err := NewModel(mod(func(c *ModelConfig) { c.Height, c.Width, c.ModelWidth, c.QueueSize = 31, 31, 4, 8 }), tfrun.DefaultSessionConfig())
	if err != nil {
		t.Fatalf("31x31: %v", err)
	}
	m.Close()
	m.Close() // Close is idempotent
}
