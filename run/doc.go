// Package run is nnclr as a library: a pretraining run and its directory. The CLI (cmd/nnclr) is
// one user of it; a Go program can train, resume, export and embed the same way (see the
// examples).
//
// # The run directory
//
// A run directory is a documented, versioned format:
//
//	run.json        the run's Config: {"format": "nnclr-run", "version": 1, "dataset": ..., "seed": ...}
//	                with the settings' names as keys (package setting; the CLI's flags with dashes)
//	metrics.jsonl   one StepRecord per training step, one ValidationRecord per validated epoch
//	                (every val_every epochs) and one KNNRecord per monitored epoch
//	checkpoints/    TensorFlow checkpoints ckpt-STEP.{index,data-00000-of-00001} of every variable
//	                (weights, Adam slots and counters, the queue, global_step) and the "checkpoint"
//	                state file naming the latest, as tf.train.latest_checkpoint reads it
//	events.out.tfevents.*  TensorBoard scalars train/*, val/* (and eval/* from evaluations), and
//	                the config as text; each attempt's file starts with a SessionLog START at its
//	                first step
//	lock            flock(2)ed by the process training the run, with its pid, host and start time
//	metrics.orphaned.jsonl  lines a resume moved out of metrics.jsonl: steps an earlier attempt
//	                logged after its last checkpoint
//
// Runs written before run.json existed hold flags.json instead (the CLI's flags under their Go
// field names); ReadConfig reads both, and settings an older run lacks take their defaults, which
// describe what that run did. A resumed run writes run.json. run.json of another format or
// version is refused.
//
// # Seeds
//
// Every random draw of a run comes from Config.Seed through DeriveSeeds: the model's initial
// weights, the augmenters' draws (per image, keyed by view, step and index) and the data order
// (per split and epoch). Same config, same run: a resumed run equals an uninterrupted one bit for
// bit.
//
// # Use
//
// Create sets up a new run (Resume continues one from its latest checkpoint; Start chooses, as a
// command line does); Training.Train runs it, writing the files above and calling the caller's
// train.Hooks after its own. With Options.Cluster the run is data-parallel over several worker
// processes on TensorFlow's distributed runtime (ParseTFConfig, ParseCluster): the batches are
// global, the chief (task 0) alone writes the run directory. Open opens a
// run read-only at a checkpoint to export it as a SavedModel, embed images with its encoder
// (package embed) or record an evaluation (package evaluate). Datasets are found (and, when
// asked, prepared) by loader.Load, as tfds.load finds them.
//
// # Datasets without labels
//
// A dataset without labels (loader.Dataset.HasLabels false: a flat image folder, the split
// "unlabelled" with label -1) trains the contrastive part alone: the model has no probe
// (tfgraph.ModelConfig.NumClasses 0: no probe variables or optimizer in the checkpoints), there
// is no validation after each epoch, metrics.jsonl's step lines have no p_loss and p_acc and
// TensorBoard no train/p_* or val/* scalars, and the contrastive batch is UnlabelledBatch images
// (default split size / steps). knn_every > 0 and labelled_batch > 0 are refused. Resume,
// interrupts and data-parallel training work as for a labelled run; Export writes the embedding
// alone; evaluation needs labels.
//
// Bad settings are *setting.Error values naming the setting; nothing panics on input. A Training
// owns a libtensorflow session, decoding goroutines and the run directory's lock: Close it. Neither a Training nor a Run is
// safe for concurrent use; separate ones are independent.
package run
