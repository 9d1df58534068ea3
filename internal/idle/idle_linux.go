package idle

import (
	"runtime"
	"syscall"
	"unsafe"
)

// schedIdle is SCHED_IDLE of <linux/sched.h>.
const schedIdle = 5

func enter() bool {
	runtime.LockOSThread()
	if syscall.Gettid() == syscall.Getpid() {
		// The main thread: Go cannot end it when the goroutine exits (it parks it for good
		// instead), and the kernel delivers the process's signals there first.
		runtime.UnlockOSThread()
		return false
	}
	var param struct{ priority int32 } // struct sched_param: 0 for SCHED_IDLE
	_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(syscall.Gettid()), schedIdle, uintptr(unsafe.Pointer(&param)))
	if errno != 0 {
		runtime.UnlockOSThread()
		return false
	}
	return true
}

// policy returns the scheduling policy of thread tid (0: the calling thread).
func policy(tid int) (int, error) {
	p, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(p), nil
}
