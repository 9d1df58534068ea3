//go:build unix

package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// dirLock is a run directory's writer lock: an flock(2) on RUN_DIR/lock, which the kernel drops
// when the process ends however it ends, so a killed writer never leaves a stale lock.
type dirLock struct{ f *os.File }

// lockHolder is what the lock file says about the process holding it.
type lockHolder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

// lockDir takes dir's writer lock, creating dir if needed. When another process holds it, the
// error wraps ErrLocked and names the holder.
func lockDir(dir string) (*dirLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("run: locking %s: %w", path, err)
		}
		var h lockHolder
		b, _ := io.ReadAll(f)
		if json.Unmarshal(b, &h) != nil || h.PID == 0 {
			return nil, fmt.Errorf("run: %s: %w by another process (it has not said which yet)", dir, ErrLocked)
		}
		return nil, fmt.Errorf("run: %s: %w by pid %d on %s since %s", dir, ErrLocked, h.PID, h.Host, h.Started.Format(time.RFC3339))
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(lockHolder{PID: os.Getpid(), Host: host, Started: time.Now().UTC().Truncate(time.Second)})
	if err := f.Truncate(0); err == nil {
		f.WriteAt(append(b, '\n'), 0)
	}
	return &dirLock{f: f}, nil
}

// unlock releases the lock; it is safe to call more than once.
func (l *dirLock) unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the only descriptor releases the flock
	l.f = nil
	return err
}
