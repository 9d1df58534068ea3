package run

import (
	"fmt"
	"math"
	"slices"

	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfgraph"
)

// scheduleSteps are the schedule's warm-up and total steps: warmup_epochs and epochs in steps
// of the run (the warm-up rounded to the nearest step).
func (c Config) scheduleSteps() (warmup, total int) {
	return int(math.Round(c.WarmupEpochs * float64(c.StepsPerEpoch))), c.Epochs * c.StepsPerEpoch
}

// validateRecipe checks what the run adds to the model's checks of the recipe: a probe rate
// of its own (the model reads 0 as learning_rate; a run says what it uses) and a warm-up
// shorter than the run.
func (c Config) validateRecipe() error {
	switch {
	case !(c.ProbeLearningRate > 0) || math.IsInf(c.ProbeLearningRate, 0):
		return setting.Errorf("probe_learning_rate", c.ProbeLearningRate, "want a finite value > 0")
	case c.LRSchedule == tfgraph.ScheduleWarmupCosine && !(c.WarmupEpochs >= 0 && c.WarmupEpochs < float64(c.Epochs)):
		return setting.Errorf("warmup_epochs", c.WarmupEpochs, "want >= 0 and below the run's %d epochs (%s %s needs steps left for its cosine)",
			c.Epochs, setting.Flag("lr_schedule"), c.LRSchedule)
	}
	return nil
}

// recipeOptions are the settings only some optimizers or schedules read, with those that do.
var recipeOptions = []struct {
	name, by string   // the setting; the setting that chooses
	values   []string // by's values that read it
}{
	{"momentum", "optimizer", []string{tfgraph.OptimizerSGD, tfgraph.OptimizerLARS}},
	{"lars_eta", "optimizer", []string{tfgraph.OptimizerLARS}},
	{"lars_clip", "optimizer", []string{tfgraph.OptimizerLARS}},
	{"warmup_epochs", "lr_schedule", []string{tfgraph.ScheduleWarmupCosine}},
}

// CheckGiven refuses a setting in given (the names a user gave, as Start takes them) that the
// config's optimizer or schedule does not read, e.g. lars_eta with optimizer adam: the error
// names both settings.
func (c Config) CheckGiven(given []string) error {
	for _, o := range recipeOptions {
		if !slices.Contains(given, o.name) {
			continue
		}
		chosen, _ := c.value(o.by)
		if !slices.Contains(o.values, chosen.(string)) {
			v, _ := c.value(o.name)
			return setting.Errorf(o.name, v, "only %s %v read it, and %s is %s", setting.Flag(o.by), o.values, setting.Flag(o.by), chosen)
		}
	}
	return nil
}

// checkScheduleResume refuses another number of epochs for a warmup-cosine run: its cosine
// runs over the total steps fixed when the run was created.
func (c Config) checkScheduleResume(was Config, path string) error {
	if was.LRSchedule == tfgraph.ScheduleWarmupCosine && c.Epochs != was.Epochs {
		return setting.Errorf("epochs", c.Epochs, "differs from the run's %d (%s), and %s %s decays over the run's total steps fixed at its creation: resume with %s %d",
			was.Epochs, path, setting.Flag("lr_schedule"), was.LRSchedule, setting.Flag("epochs"), was.Epochs)
	}
	return nil
}

// Recipe describes the contrastive optimizer, its schedule and the probe's rate in a line.
func (c Config) Recipe() string {
	opt := c.Optimizer
	switch c.Optimizer {
	case tfgraph.OptimizerSGD:
		opt += fmt.Sprintf(" (momentum %g)", c.Momentum)
	case tfgraph.OptimizerLARS:
		opt += fmt.Sprintf(" (momentum %g, eta %g, clip %t)", c.Momentum, c.LARSEta, c.LARSClip)
	}
	s := fmt.Sprintf("%s, learning rate %g %s", opt, c.LearningRate, c.LRSchedule)
	if c.LRSchedule == tfgraph.ScheduleWarmupCosine {
		w, t := c.scheduleSteps()
		s += fmt.Sprintf(" (%d warm-up steps of %d)", w, t)
	}
	if c.WeightDecay > 0 {
		kind := "L2"
		if c.Optimizer == tfgraph.OptimizerAdam {
			kind = "decoupled"
		}
		s += fmt.Sprintf(", weight decay %g (%s)", c.WeightDecay, kind)
	}
	return s + fmt.Sprintf("; probe Adam %g", c.ProbeLearningRate)
}
