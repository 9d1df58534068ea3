//go:build !unix

package run

// dirLock is not available outside Unix: a run directory is not locked there.
type dirLock struct{}

func lockDir(string) (*dirLock, error) { return &dirLock{}, nil }

func (l *dirLock) unlock() error { return nil }
