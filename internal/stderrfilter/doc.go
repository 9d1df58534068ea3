// Package stderrfilter keeps TensorFlow's start-up noise off a command's stderr:
// QuietTensorFlow routes file descriptor 2, where libtensorflow and absl write, through a
// filter that honours TF_CPP_MIN_LOG_LEVEL for the lines it cannot silence itself. Linux only;
// elsewhere nothing is filtered.
package stderrfilter
