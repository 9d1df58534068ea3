// Package savedmodel is TensorFlow's SavedModel format and its adapters to nnclr's model: it
// exports Go-trained models for Python and TF Serving, and loads SavedModels (nnclr's, or
// Python's from tf.saved_model.save and Keras model.export) into Go.
//
// The format: Marshal and Read are saved_model.pb itself, with no session; WriteAtomic makes a
// SavedModel directory appear whole or not at all. Load opens a SavedModel in a session through
// tfrun.LoadSavedModel (the device and precision checks of every nnclr session): Signature and
// Run run any signature (dtype and shape checked, errors name the input), ImageSignature and
// RunImages treat one as an image embedder, Variables and ReadVariables read its weights.
//
// The adapters, which know the model (this package imports tfgraph, not the other way round):
// Export assembles the SavedModel of a model's encoder and probe in one place (variables as
// VariableDefs describe them, tfgraph.Serving's computation, a TF1 saver, the variables
// written, saved_model.pb); MapNNCLR and ReadNNCLRWeights map a Keras NNCLR encoder (and head)
// onto nnclr's variables by path and shape.
//
// Keras 3 models written with tf.saved_model.save track variables twice; Load restores the copy
// TensorFlow's TF1-style loader leaves uninitialised (see LoadedModel), so such models run in Go,
// saved_model_cli and TF Serving alike.
//
// A LoadedModel is safe for concurrent Run calls, as its session is; Close it when done. Run's
// outputs are the caller's to close (tfrun.Close).
package savedmodel
