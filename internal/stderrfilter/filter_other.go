//go:build !linux

package stderrfilter

import "os"

// QuietTensorFlow filters nothing outside Linux: TensorFlow's own log lines pass unchanged.
func QuietTensorFlow() (*os.File, func()) { return os.Stderr, func() {} }
