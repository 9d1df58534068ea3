// Package interrupt turns SIGINT and SIGTERM into a cancelled context, the way a command that
// checkpoints and exits cleanly needs them: the first signal cancels, a second ends the process at
// once.
package interrupt

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Listen returns a context cancelled at the first SIGINT or SIGTERM, a function reporting
// which signal came first (nil before any), and a function that stops listening. A second signal
// ends the process at once with 128 + its number, saying so on stderr as prog.
func Listen(prog string, stderr io.Writer) (context.Context, func() os.Signal, func()) {
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
					fmt.Fprintf(stderr, "%s: second %v: exiting now\n", prog, s)
					os.Exit(Code(s))
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

// Code is the exit status of a process a signal interrupted: 128 + its number.
func Code(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}
