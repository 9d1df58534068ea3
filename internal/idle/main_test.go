package idle

import (
	"os"
	"runtime"
	"testing"
)

// mainThread runs functions on the main thread (TestEnterOnMainThread).
var mainThread = make(chan func())

// TestMain keeps the main goroutine on the main thread, where Enter does nothing, so that the
// tests' goroutines run on the others; it runs what mainThread sends there.
func TestMain(m *testing.M) {
	runtime.LockOSThread()
	code := make(chan int)
	go func() { code <- m.Run() }()
	for {
		select {
		case f := <-mainThread:
			f()
		case c := <-code:
			os.Exit(c)
		}
	}
}
