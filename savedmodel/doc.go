// Package savedmodel exports nnclr models as TensorFlow SavedModels for Python and TF Serving, and
// loads Python-trained SavedModels into Go.
package savedmodel
