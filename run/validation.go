package run

import (
	"github.com/nnclr/nnclr/inspect"
	"github.com/nnclr/nnclr/loader"
)

// The validation after each epoch (Config.ValEvery, ValLimit) evaluates the online probe on
// the test split, or on a subset of it. In a cluster it is sharded: every worker evaluates its
// share of every test batch and the losses and counts are summed over the workers (see
// train.Trainer.Validate), so the validation takes 1/N of one process's time and a worker waits
// at the sum only for the others' lag, never for the validation's time: that may exceed the
// cluster timeout (TestClusterValidation holds every worker for longer than it).

// ValidationSubset returns the examples of the test split of n examples that the validation
// of a run of seed evaluates with limit (Config.ValLimit): nil for all of them (limit 0, or not
// below n), else inspect.Subset's draw of limit file-order indices from the stream of seed,
// inspect.PurposeValidation and the split's name, the same on every attempt and worker.
func ValidationSubset(n, limit int, seed int64, split string) []int {
	if limit <= 0 || limit >= n {
		return nil
	}
	return inspect.Subset(n, limit, seed, inspect.PurposeValidation, split)
}

// testBatches returns the test batches of p the validation evaluates: the subset's examples
// (all with a nil subset) in the test split's order, batched at the test batch.
func testBatches(p *loader.Pipeline, subset []int) (*loader.BatchIterator, error) {
	if subset == nil {
		return p.Test()
	}
	return p.TestSubset(subset)
}
