// Command nnclr-launcher is installed as bin/nnclr. It starts bin/nnclr-tf, the CLI linked to
// libtensorflow, after checking that the dynamic loader will find a loadable libtensorflow, so a
// missing library is one line telling the user what to do instead of a loader error. It also
// sets TF_CPP_MIN_LOG_LEVEL=1 (TensorFlow's start-up INFO lines) unless the environment sets it,
// since that variable must be in place before the library loads.
//
// It has no cgo and no dependency on TensorFlow.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

func main() {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nnclr: cannot locate own executable:", err)
		os.Exit(1)
	}
	core := filepath.Join(filepath.Dir(exe), coreName)
	if err := checkTensorFlowLibs(core, loaderSearch{}); err != nil {
		fmt.Fprintln(os.Stderr, "nnclr:", err)
		os.Exit(1)
	}
	env := os.Environ()
	if _, ok := os.LookupEnv("TF_CPP_MIN_LOG_LEVEL"); !ok {
		env = append(env, "TF_CPP_MIN_LOG_LEVEL=1")
	}
	err = syscall.Exec(core, append([]string{os.Args[0]}, os.Args[1:]...), env)
	fmt.Fprintf(os.Stderr, "nnclr: start %s: %v\n", core, err)
	os.Exit(1)
}
