// Package tfgraph builds nnclr's TensorFlow graphs with graft and runs them in libtensorflow
// sessions on CPU or GPU: the NNCLR model and its train, test and forward steps (Model), its
// checkpoints (TensorFlow's own format, read by tf.train.load_checkpoint), the serving graph an
// export holds (WriteExport), the softmax regression of linear evaluation (LinearModel), and
// what the loaded runtime offers (version, devices), and data-parallel training on TensorFlow's
// distributed runtime: a worker's gRPC server (StartServer), a session on it (SessionConfig's
// Cluster and Target), and a train step whose collectives make the workers' update the
// single-process update of the global batch (ModelConfig.Parallel, Model.CheckCluster).
//
// tfgraph and savedmodel are the only packages that import graft's tensorflow and op packages;
// internal/layout's tests fail when another one does. Others pass tensors along as values
// (NewFloatTensor, NewInt64Tensor) without importing them. nnclr's only cgo is internal/tfc
// (TF_NewServer and TF_ServerStart, and TF_SessionRun with run options and run metadata, which
// graft does not expose), used here only.
//
// A Session may be used from several goroutines at once for Run, as libtensorflow allows; Close
// must be called once no Run is in flight, and is safe to call more than once. A Model or a
// LinearModel is not safe for concurrent use.
package tfgraph
