package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/nnclr/nnclr/train"
)

// interrupts returns a context cancelled at the first SIGINT or SIGTERM, a function reporting
// which signal came first (nil before any), and a function that stops listening. A second signal
// ends the process at once with 128 + its number, saying so on stderr.
func interrupts(stderr io.Writer) (context.Context, func() os.Signal, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	var mu sync.Mutex
	var first os.Signal
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				mu.Lock()
				if first != nil {
					mu.Unlock()
					fmt.Fprintf(stderr, "nnclr: second %v: exiting now\n", s)
					os.Exit(signalCode(s))
				}
				first = s
				mu.Unlock()
				cancel()
			case <-done:
				return
			}
		}
	}()
	get := func() os.Signal {
		mu.Lock()
		defer mu.Unlock()
		return first
	}
	return ctx, get, func() { signal.Stop(ch); close(done); cancel() }
}

// signalCode is the exit status of a process a signal interrupted: 128 + its number.
func signalCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}

// interrupted is the error of a mode interrupted by sig, with the exit status 128 + the
// signal's number. Outputs are written atomically, so nothing partial is left; pretrain has
// printed its own line (the checkpoint to resume from), the other modes say nothing was written.
func interrupted(sig os.Signal, err error) error {
	var ie *train.InterruptedError
	if errors.As(err, &ie) && ie.Checkpoint != "" {
		return &exitError{err: err, code: signalCode(sig), printed: true}
	}
	return &exitError{err: fmt.Errorf("interrupted (%v): nothing written", sig), code: signalCode(sig)}
}
