// Package layout holds the tests that keep the project's package boundaries as the docs state
// them: which packages import graft's tensorflow and op packages (the cgo bindings of
// libtensorflow), which use cgo of their own, and which build without libtensorflow. It has no
// code of its own.
package layout
