package tfgraph

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/nnclr/nnclr/setting"
)

// The contrastive step's optimizers (ModelConfig.Optimizer).
const (
	OptimizerAdam = "adam"
	OptimizerSGD  = "sgd"
	OptimizerLARS = "lars"
)

// Optimizers are the valid optimizers, in the order help texts list them.
var Optimizers = []string{OptimizerAdam, OptimizerSGD, OptimizerLARS}

// optimizer and lrSchedule are Optimizer and LRSchedule with their zero values read.
func (c ModelConfig) optimizer() string  { return cmp.Or(c.Optimizer, OptimizerAdam) }
func (c ModelConfig) lrSchedule() string { return cmp.Or(c.LRSchedule, ScheduleConstant) }

// validateRecipe checks the optimizer, its settings and the schedule.
func (c ModelConfig) validateRecipe() error {
	finite := func(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }
	switch {
	case !slices.Contains(Optimizers, c.optimizer()):
		return setting.Errorf("optimizer", c.Optimizer, "want one of %s", strings.Join(Optimizers, ", "))
	case !(c.ProbeLearningRate >= 0 && finite(c.ProbeLearningRate)):
		return setting.Errorf("probe_learning_rate", c.ProbeLearningRate, "want a finite value > 0 (0: learning_rate)")
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return setting.Errorf("momentum", c.Momentum, "want in [0, 1)")
	case !(c.WeightDecay >= 0 && finite(c.WeightDecay)):
		return setting.Errorf("weight_decay", c.WeightDecay, "want a finite value >= 0 (0: none)")
	case c.optimizer() == OptimizerLARS && !(c.LARSEta > 0 && finite(c.LARSEta)):
		return setting.Errorf("lars_eta", c.LARSEta, "want a finite value > 0 (You et al.: 0.001)")
	case !slices.Contains(Schedules, c.lrSchedule()):
		return setting.Errorf("lr_schedule", c.LRSchedule, "want one of %s", strings.Join(Schedules, ", "))
	case c.lrSchedule() != ScheduleWarmupCosine:
		return nil
	case c.TotalSteps <= 0:
		return setting.Errorf("total_steps", c.TotalSteps, "warmup-cosine needs the run's total steps: want > 0")
	case c.WarmupSteps < 0 || c.WarmupSteps >= c.TotalSteps:
		return setting.Errorf("warmup_steps", c.WarmupSteps, "want >= 0 and below the %d total steps (the cosine needs at least one)", c.TotalSteps)
	}
	return nil
}
