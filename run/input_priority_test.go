package run_test

import (
	"context"
	"os"
	"runtime"

	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/train"
)

// idleThreads counts this process's threads in Linux's SCHED_IDLE class (policy 5, the 41st
// field of /proc/self/task/TID/stat).
func idleThreads(t *testing.T) int {
	tasks, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range tasks {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended
		}
		s := string(raw)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // from field 3, the state
		if len(fields) < 39 {
			t.Fatalf("%s: %d fields after the command", p, len(fields))
		}
		if policy, _ := strconv.Atoi(fields[41-3]); policy == 5 {
			n++
		}
	}
	return n
}

// TestInputPriority trains the small example run with input_priority idle and normal: with
// idle, while the steps run, the input pipeline's producer (at least) is on a SCHED_IDLE thread;
// with normal, no thread is; and both runs give the same losses step for step (the priority
// changes when the next step is prepared, never what it holds).
func TestInputPriority(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := writeShapes(dataDir); err != nil {
		t.Fatal(err)
	}
	losses := map[string][]float64{}
	for _, prio := range []string{run.InputPriorityIdle, run.InputPriorityNormal} {
		cfg := smallConfig(dataDir)
		cfg.InputPriority, cfg.Workers, cfg.StepsPerEpoch = prio, 2, 4
		cfg.UnlabelledBatch, cfg.LabelledBatch = 16, 8
		tr, err := run.Create(filepath.Join(dir, prio), cfg, run.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var idle []int
		err = tr.Train(context.Background(), train.Hooks{OnStep: func(s train.StepInfo) {
			idle = append(idle, idleThreads(t))
			losses[prio] = append(losses[prio], s.Metrics.CLoss, s.Metrics.PLoss)
		}})
		tr.Close()
		if n := idleThreads(t); n != 0 {
			t.Fatalf("input_priority %s: %d SCHED_IDLE threads after the run", prio, n)
		}

		if err != nil {
			t.Fatal(err)
		}
		for i, n := range idle[:len(idle)-1] { // after the last step the producer has ended
			if (prio == run.InputPriorityIdle) != (n > 0) {
				t.Fatalf("input_priority %s: %d SCHED_IDLE threads after step %d", prio, n, i+1)
			}
		}
		t.Logf("input_priority %s: SCHED_IDLE threads after each step: %v", prio, idle)
	}
	a, b := losses[run.InputPriorityIdle], losses[run.InputPriorityNormal]
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("losses: %d and %d values", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("loss %d: %v with idle input threads, %v with normal ones", i, a[i], b[i])
		}
	}
}

// TestMain keeps the main goroutine on the main thread (as cmd/nnclr does), where idle.Enter
// does nothing, so that the input pipeline's goroutines always run on other threads.
func TestMain(m *testing.M) {
	runtime.LockOSThread()
	os.Exit(m.Run())
}
