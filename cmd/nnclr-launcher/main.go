// Command nnclr-launcher is installed as bin/nnclr. It starts bin/nnclr-tf, the CLI linked to
// libtensorflow, after checking that the dynamic loader will find a loadable libtensorflow, so a
// missing library is one line telling the user what to do instead of a loader error. It also
// sets TF_CPP_MIN_LOG_LEVEL=1 (TensorFlow's start-up INFO lines) unless the environment sets it,
// since that variable must be in place before the library loads.
//
// With --xla it also sets TF_XLA_FLAGS for XLA's CPU auto-clustering, unless the environment
// sets it. It has no cgo and no dependency on TensorFlow.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	env := launchEnv(os.Environ(), os.Args[1:])
	err = syscall.Exec(core, append([]string{os.Args[0]}, os.Args[1:]...), env)
	fmt.Fprintf(os.Stderr, "nnclr: start %s: %v\n", core, err)
	os.Exit(1)
}

// launchEnv adds the TensorFlow variables that must be set before the library loads.
func launchEnv(env, args []string) []string {
	has := func(name string) bool {
		for _, e := range env {
			if strings.HasPrefix(e, name+"=") {
				return true
			}
		}
		return false
	}
	if !has("TF_CPP_MIN_LOG_LEVEL") {
		env = append(env, "TF_CPP_MIN_LOG_LEVEL=1")
	}
	if xlaFlag(args) && !has("TF_XLA_FLAGS") {
		env = append(env, "TF_XLA_FLAGS=--tf_xla_cpu_global_jit --tf_xla_auto_jit=2")
	}
	return env
}

// xlaFlag reports whether args turn --xla on, read as pflag reads a boolean flag: "--xla" is
// true, "--xla=V" takes any spelling strconv.ParseBool accepts (1, t, TRUE, false, ...), the last
// occurrence wins, and nothing after a "--" terminator is a flag. A value the CLI will refuse
// leaves it off (the CLI then exits with the error).
func xlaFlag(args []string) bool {
	on := false
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--xla" {
			on = true
		} else if v, ok := strings.CutPrefix(a, "--xla="); ok {
			b, err := strconv.ParseBool(v)
			on = err == nil && b
		}
	}
	return on
}
