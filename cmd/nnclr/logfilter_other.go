//go:build !linux

package main

import "os"

// quietTensorFlow filters nothing outside Linux: TensorFlow's own log lines pass unchanged.
func quietTensorFlow() (*os.File, func()) { return os.Stderr, func() {} }
