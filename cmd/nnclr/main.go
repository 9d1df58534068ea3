// Command nnclr trains NNCLR self-supervised image representations through libtensorflow and
// reads and writes TensorFlow's own formats. Run `nnclr --help` for the modes and flags.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/nnclr/nnclr/internal/stderrfilter"
)

// init keeps the main goroutine on the process's main thread, and so every other goroutine off
// it: the input pipeline's goroutines can then always move to idle-priority threads (idle.Enter
// leaves the main thread alone; see run.Config.InputPriority).
func init() { runtime.LockOSThread() }

func main() {
	stderr, restore := stderrfilter.QuietTensorFlow()
	err := run(os.Args[1:], os.Stdout, stderr)
	restore()
	if err != nil {
		var x *exitError
		switch {
		case errors.Is(err, errHelp):
			os.Exit(0)
		case !errors.As(err, &x) || !x.printed:
			fmt.Fprintln(stderr, "nnclr:", err)
		}
		os.Exit(exitCode(err))
	}
}
