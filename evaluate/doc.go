// Package evaluate scores fixed image representations with the two standard self-supervised
// evaluation protocols: a weighted k-nearest-neighbour vote on L2-normalized features (Wu et al.
// 2018, "Unsupervised Feature Learning via Non-Parametric Instance Discrimination"; DINO's
// eval_knn) and linear evaluation, a softmax regression trained on the train features
// (TrainLinear, on tfgraph.LinearModel) and scored on the test features.
//
// The features are given, one row per example (a Split); computing them from images is the
// caller's job. KNN is plain Go and deterministic: the same inputs give the same predictions for
// any number of workers. Linear trains in a libtensorflow session and is reproducible for a given
// seed on a given device.
//
// Bad input (mismatched dimensions, empty splits, labels outside [0, classes), NaN or infinite
// features, impossible settings) is reported as an error wrapping one of ErrShape, ErrEmpty,
// ErrLabel, ErrNonFinite or ErrConfig; nothing in this package panics on input. The functions
// only read the slices they are given, keep no reference to them and hold no package state, so
// they may be called concurrently.
package evaluate
