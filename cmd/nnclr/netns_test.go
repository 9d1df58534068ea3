package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testutil"
)

// TestWorkersInNamespaces: 2 worker processes, each in its own network namespace with its own
// address, joined by a veth link, train to bit-identically the variables of the same 2-worker
// job on 127.0.0.1 (the same graph and worker count). It skips only where this process may not
// make network namespaces.
func TestWorkersInNamespaces(t *testing.T) {
	nn := testutil.NewNetns(t)
	dataDir := smallFashion(t, 120)
	bin := cliBinary(t)

	loop := [2]string{filepath.Join(t.TempDir(), "w0"), filepath.Join(t.TempDir(), "w1")}
	cmds, outs := startWorkers(t, testutil.FreeAddrs(t, 2), func(w int) []string { return clusterArgs(dataDir, loop[w], 2) })
	for w, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("loopback worker %d: %v\n%s", w, err, outs[w])
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cluster := nn.Addr[0] + ":2222," + nn.Addr[1] + ":2222"
	ns := [2]string{filepath.Join(t.TempDir(), "w0"), filepath.Join(t.TempDir(), "w1")}
	var nsOuts [2]bytes.Buffer
	var started []int
	for w := range 2 {
		args := append(clusterArgs(dataDir, ns[w], 2), "--cluster", cluster, "--task-index", fmt.Sprint(w), "--cluster-timeout", "20s")
		cmd := nn.Command(ctx, w, bin, args...)
		cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2")
		cmd.Stdout, cmd.Stderr = &nsOuts[w], &nsOuts[w]
		if err := cmd.Start(); err != nil {
			t.Fatalf("worker %d in %s at %s: %v", w, nn.NS[w], nn.Addr[w], err)
		}
		cmds[w] = cmd
		started = append(started, w)
	}
	for _, w := range started {
		if err := cmds[w].Wait(); err != nil {
			t.Fatalf("worker %d in %s at %s:2222: %v\n%s", w, nn.NS[w], nn.Addr[w], err, nsOuts[w].String())
		}
	}
	if want := "workers " + nn.Addr[0] + ":2222 (this), " + nn.Addr[1] + ":2222"; !strings.Contains(nsOuts[0].String(), want) {
		t.Errorf("the chief in %s does not say %q:\n%s", nn.NS[0], want, nsOuts[0].String())
	}

	stepL, want := finalWeights(t, loop[0])
	stepN, got := finalWeights(t, ns[0])
	if stepL != 8 || stepN != 8 {
		t.Fatalf("the chiefs end at step %d (loopback) and %d (namespaces), want 8", stepL, stepN)
	}
	if len(got) != len(want) {
		t.Fatalf("%d variables in namespaces, %d on loopback", len(got), len(want))
	}
	for name, a := range want {
		b, ok := got[name]
		if !ok || !slices.Equal(a.Float, b.Float) || !slices.Equal(a.Int, b.Int) {
			t.Errorf("variable %s: the namespaces' run differs from loopback's (max rel %.3g)", name, testutil.MaxRel(b.Float, a.Float))
		}
	}
	t.Logf("2 workers at %s in %s and %s: %d variables bit-identical to the loopback run", cluster, nn.NS[0], nn.NS[1], len(want))
}
