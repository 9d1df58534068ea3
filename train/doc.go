// Package train runs NNCLR pretraining: it pulls batches from a Data source, augments them in Go
// (two contrastive views and one classification view per step, prepared while TensorFlow runs the
// previous step), runs one tfgraph train step per batch, validates on the test split after each
// epoch, checkpoints, and reports everything through Hooks. The loop never prints; the CLI
// attaches the progress bar, the JSONL log and TensorBoard as hooks.
package train
