package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/nnclr/nnclr/internal/interrupt"
	"github.com/nnclr/nnclr/train"
)

// interrupted is the error of a mode interrupted by sig, with the exit status 128 + the
// signal's number. Outputs are written atomically, so nothing partial is left; pretrain has
// printed its own line (the checkpoint to resume from), the other modes say nothing was written.
func interrupted(sig os.Signal, err error) error {
	var ie *train.InterruptedError
	if errors.As(err, &ie) && ie.Checkpoint != "" {
		return &exitError{err: err, code: interrupt.Code(sig), printed: true}
	}
	return &exitError{err: fmt.Errorf("interrupted (%v): nothing written", sig), code: interrupt.Code(sig)}
}
