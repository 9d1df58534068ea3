// Command nnclr trains NNCLR self-supervised image representations through libtensorflow and
// reads and writes TensorFlow's own formats. Run `nnclr --help` for the modes and flags.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/nnclr/nnclr/internal/stderrfilter"
)

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
