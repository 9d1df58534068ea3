//go:build linux

package idle

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
)

// TestEnter checks that Enter moves the goroutine's thread, and only that thread, to SCHED_IDLE:
// a goroutine that entered sees the idle policy; the threads the runtime hands out afterwards
// are ordinary (the idle ones ended with their goroutines); and the main thread, which Go cannot
// end, never becomes idle (TestMain keeps the main goroutine there; TestEnterOnMainThread checks
// Enter there).
func TestEnter(t *testing.T) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	entered := 0
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !Enter() {
				return
			}
			p, err := policy(0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || p != schedIdle {
				t.Errorf("after Enter: policy %d (%v), want SCHED_IDLE (%d)", p, err, schedIdle)
			}
			entered++
		}()
	}
	wg.Wait()
	if entered != 64 {
		t.Fatalf("%d of 64 goroutines entered the idle class", entered)
	}
	if p, err := policy(syscall.Getpid()); err != nil || p != 0 {
		t.Fatalf("main thread: policy %d (%v), want SCHED_OTHER (0)", p, err)
	}
	// Run more goroutines than threads could have been kept, each locked so that each takes a
	// thread of its own.
	for i := 0; i < 4*runtime.GOMAXPROCS(0); i++ {
		got := make(chan int)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			p, err := policy(0)
			if err != nil {
				p = -1
			}
			got <- p
		}()
		if p := <-got; p != 0 {
			t.Fatalf("goroutine %d after the idle ones' exit runs with policy %d, want SCHED_OTHER (0)", i, p)
		}
	}
}

// TestEnterOnMainThread: on the main thread Enter reports false and leaves the thread's policy
// as it was.
func TestEnterOnMainThread(t *testing.T) {
	got := make(chan bool)
	mainThread <- func() {
		ok := Enter() // under TestMain's lock, which Enter's own nests in and undoes
		p, err := policy(0)
		got <- !ok && err == nil && p == 0 && syscall.Gettid() == syscall.Getpid()
	}
	if !<-got {
		t.Fatal("Enter on the main thread: want false and SCHED_OTHER")
	}
}
