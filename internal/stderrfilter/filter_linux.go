package stderrfilter

import (
	"bufio"
	"io"
	"os"
	"regexp"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// abslLine matches a line of absl's log format: severity and date (MMDD), time (before absl is
// initialised, seconds since the epoch), thread, file:line].
var abslLine = regexp.MustCompile(`^([IWEF])\d{4} [\d:.]+ +\d+ [^ \]]+:\d+\] `)

const abslInitWarning = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"

// QuietTensorFlow routes file descriptor 2, where libtensorflow and absl write, through a filter
// that drops what TF_CPP_MIN_LOG_LEVEL asks to drop but cannot silence itself: absl's warning that
// logging is not initialised and log lines below the level (the MLIR pass line is INFO). With the
// variable unset or 0 nothing is filtered. It returns the file Go code writes its own messages
// to (the original stderr, still a terminal when it was one) and a function that restores fd 2 and
// waits, a bounded time, for the filter to pass on what is left.
func QuietTensorFlow() (*os.File, func()) {
	level, err := strconv.Atoi(os.Getenv("TF_CPP_MIN_LOG_LEVEL"))
	if err != nil || level <= 0 {
		return os.Stderr, func() {}
	}
	orig, err := unix.Dup(2)
	if err != nil {
		return os.Stderr, func() {}
	}
	r, w, err := os.Pipe()
	if err != nil {
		unix.Close(orig)
		return os.Stderr, func() {}
	}
	if err := unix.Dup3(int(w.Fd()), 2, 0); err != nil {
		r.Close()
		w.Close()
		unix.Close(orig)
		return os.Stderr, func() {}
	}
	w.Close()
	out := os.NewFile(uintptr(orig), "/dev/stderr")
	done := make(chan struct{})
	go func() {
		defer close(done)
		filterLog(r, out, level)
	}()
	return out, func() {
		unix.Dup3(orig, 2, 0) // closes the pipe's last write end: the filter sees EOF
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}
}

// filterLog copies lines from r to w, dropping absl's initialisation warning and absl log lines
// whose severity (I 0, W 1, E 2) is below level.
func filterLog(r io.Reader, w io.Writer, level int) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" && !dropLine(line, level) {
			io.WriteString(w, line)
		}
		if err != nil {
			return
		}
	}
}

func dropLine(line string, level int) bool {
	if len(line) >= len(abslInitWarning) && line[:len(abslInitWarning)] == abslInitWarning {
		return true
	}
	m := abslLine.FindStringSubmatch(line)
	if m == nil {
		return false
	}
	severity := map[string]int{"I": 0, "W": 1, "E": 2, "F": 3}[m[1]]
	return severity < level
}
