// Package tfgraph is the only package of nnclr that imports graft's tensorflow and op packages.
// It builds TensorFlow graphs with graft, runs them in libtensorflow sessions on CPU or GPU, and
// reports what the loaded runtime offers (version, devices).
//
// A Session may be used from several goroutines at once for Run, as libtensorflow allows; Close
// must be called once no Run is in flight, and is safe to call more than once.
package tfgraph
