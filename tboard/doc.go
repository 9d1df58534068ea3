// Package tboard writes TensorBoard event files from pure Go: no cgo and no libtensorflow, only
// graft's generated Event and Summary protobufs framed as TFRecords by tfrecord.Writer.
//
// A Writer owns one file, named like TensorFlow's
//
//	events.out.tfevents.<unix seconds, 10 digits>.<hostname>.<pid>.<n>[suffix]
//
// in a log directory that TensorBoard is pointed at (tensorboard --logdir DIR). Its first record
// is an Event carrying file_version "brain.Event:2"; every later record is one Event with one
// Summary.Value: Scalar writes a TF1-style simple_value (read by TensorBoard's scalars plugin,
// its EventAccumulator and its data provider), Text writes a string tensor tagged for the text
// plugin (Markdown is rendered).
//
// Durability: by default every event is handed to the operating system (one write(2)) before
// the call returns, so a process that crashes or exits without Close leaves every earlier event
// readable. Options.FlushEvery trades that for fewer system calls. Nothing is fsynced: events
// survive a process crash, not necessarily a machine crash.
//
// A Writer is safe for concurrent use by multiple goroutines; events from concurrent calls are
// written whole, in the order the calls take the Writer's lock.
package tboard
