// Package projector writes embeddings for TensorBoard's Projector: a projector_config.pbtxt
// (the text form of the plugin's ProjectorConfig message) in a log directory, and under its
// projector/ subdirectory one directory per embedding holding the vectors as a TSV file (the
// plugin's tensor_path: never a checkpoint, whose every 2-D variable the plugin would list as an
// embedding), a metadata TSV and a sprite PNG of thumbnails.
//
// `tensorboard --logdir DIR` shows them: the plugin reads projector_config.pbtxt in the log
// directory itself (the run "."), and in each run directory that holds event files.
//
// Writes are safe against interruption: an embedding's files are written to a hidden temporary
// directory that is renamed into place when complete, the config is replaced atomically after
// that, and the files it no longer names are removed last, so the config never names a file
// that is missing. Two processes must not write the same directory at once.
package projector
