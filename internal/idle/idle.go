// Package idle runs a goroutine on an OS thread of the lowest CPU priority, for work that should
// only take the cycles nothing else wants: the input pipeline's decoding and augmentation while
// TensorFlow's kernels run a training step on the same cores.
//
// On Linux, Enter puts the goroutine's thread in the SCHED_IDLE scheduling class (sched(7)),
// which the kernel runs only when no ordinary thread is runnable, so a step's kernels are not
// slowed by the pipeline preparing the next step. Elsewhere it does nothing.
package idle

// Enter locks the calling goroutine to its OS thread and moves that thread to the idle
// scheduling class. It reports whether it did; when it did not (another OS, the kernel refused,
// or the goroutine runs on the process's main thread), the goroutine runs on as before,
// unlocked. The main thread is left alone because Go cannot end it (a goroutine exiting locked
// to it parks it for good) and the kernel delivers the process's signals there first: a
// program keeps its other goroutines off it, so that every Enter succeeds, by locking its main
// goroutine to it (runtime.LockOSThread in an init function), as cmd/nnclr does.
//
// The goroutine must then return without calling runtime.UnlockOSThread: Go ends a thread whose
// goroutine exits locked to it, so no other goroutine ever runs at idle priority. The switch is
// one-way (an unprivileged thread cannot leave SCHED_IDLE), which is why the thread is not
// reused.
func Enter() bool { return enter() }
