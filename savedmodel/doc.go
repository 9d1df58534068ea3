// Package savedmodel is nnclr's side of TensorFlow's SavedModel format: it exports Go-trained
// models for Python and TF Serving, and loads SavedModels (nnclr's, or Python's from
// tf.saved_model.save and Keras model.export) into Go.
//
// Export writes a model's encoder and linear probe as a TF1-style SavedModel (the serving graph
// and its variables come from tfgraph.WriteExport; this package writes saved_model.pb and makes
// the directory appear atomically). Marshal and Read are the saved_model.pb format itself, with no
// session. Load opens a SavedModel in a libtensorflow session: Signature and Run run any
// signature (dtype and shape checked, errors name the input), ImageSignature and RunImages treat
// one as an image embedder, Variables and ReadVariables read its weights. MapNNCLR and
// ReadNNCLRWeights map a Keras NNCLR encoder (and head) onto nnclr's variables by path and shape.
//
// Keras 3 models written with tf.saved_model.save track variables twice; Load restores the copy
// TensorFlow's TF1-style loader leaves uninitialised (see LoadedModel), so such models run in Go,
// saved_model_cli and TF Serving alike.
//
// With tfgraph, this is one of the two packages that import graft's tensorflow package. A
// LoadedModel is safe for concurrent Run calls, as its session is; Close it when done.
package savedmodel
