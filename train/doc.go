// Package train runs NNCLR pretraining: it pulls batches from a Data source, augments them in Go
// (two contrastive views and one classification view per step, prepared while TensorFlow runs the
// previous step), runs one tfgraph train step per batch, validates on the test split after each
// epoch (or every Config.ValidateEvery; sharded over the workers of a data-parallel run),
// checkpoints, and reports everything through Hooks. The loop never prints: package run
// attaches metrics.jsonl and TensorBoard as hooks, the CLI its progress bar. MemData is an
// in-memory Data source; package run adapts the loader's tfds pipeline.
package train
