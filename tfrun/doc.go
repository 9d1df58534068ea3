// Package tfrun is nnclr's TensorFlow runtime layer: it owns libtensorflow's runtime objects and
// knows nothing of NNCLR. It opens sessions over a graft graph (NewSession) or a SavedModel
// (LoadSavedModel) with one configuration type (SessionConfig: device, threads, XLA, precision,
// cluster) and the same device and precision checks for both; runs them, with run options and
// per-kernel traces when asked (Session.Trace); makes and reads tensors (NewFloatTensor,
// Float32s, Array, ...) and closes them explicitly (Close); parses devices and precisions once
// into types (ParseDevice, ParsePrecision); reads the CPU's bf16 flags; and starts a worker's
// gRPC server for TensorFlow's distributed runtime (StartServer, Cluster) and asks a peer's
// server whether it answers, with a deadline (ProbeWorker); and lists which tensors a checkpoint
// holds (CheckpointHas).
//
// Ownership: a tensor returned by a constructor here or fetched by Session.Run belongs to the
// caller, who closes it with Close once done (graft would free it only when the garbage collector
// finalizes it). OpenTensors counts the tensors handed out and not yet closed, so tests can find
// leaks; Close reports a tensor closed twice. Fed tensors stay the caller's.
//
// Concurrency: a Session allows concurrent Run calls; Close waits for them and is idempotent.
//
// Graphs are built with graft (github.com/wamuir/graft, patched in third_party/graft for
// Tensor.Close and Session.RunWithOptions); tfgraph builds nnclr's. tfrun, tfgraph and savedmodel
// are the packages that import graft's tensorflow package (internal/layout checks it). The gRPC
// server, the checkpoint reader and nnclr's ReLU-gradient kernel (ReluGradBiasOp) are internal/tfc's
// cgo.
package tfrun
