// Package testutil holds small helpers several packages' tests share. It is for tests only.
package testutil

import (
	"math"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// MaxRel returns max |got − want| / max(max |want|, 1e-6): the relative difference of two
// tensors the cross-checks compare.
func MaxRel(got, want []float32) float64 {
	d, s := 0.0, 1e-6
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i]-want[i])))
		s = math.Max(s, math.Abs(float64(want[i])))
	}
	return d / s
}

// CopyTree copies the directory tree src into a new temporary directory and returns the copy
// (named like src), so a test can break or extend it.
func CopyTree(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// FreeAddrs returns n addresses on 127.0.0.1 whose ports the kernel had free a moment ago (for
// multi-process tests; another process may take one before the test binds it, which fails the
// test loudly rather than silently).
func FreeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}
