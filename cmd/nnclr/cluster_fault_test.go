package main

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testutil"
	"github.com/nnclr/nnclr/tfgraph"
)

// tfLogLine matches a line of TensorFlow's C++ logging (I0101 12:00:00.000000 ... or a dated
// line), which the library may write to stderr before a worker's first line.
var tfLogLine = regexp.MustCompile(`^([IWEF]\d{4} |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)`)

// firstLine returns out's first line that is not TensorFlow's logging.
func firstLine(out string) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if l := sc.Text(); !tfLogLine.MatchString(l) && strings.TrimSpace(l) != "" {
			return l
		}
	}
	return ""
}

// TestClusterSaysSo: --mode info with --cluster or TF_CONFIG says what this worker would be; the
// first line of each worker of a 2-worker run names its task, the number of workers and the
// addresses, and TensorFlow (logging at every level) does not warn that GrpcSession::ListDevices
// initialises a session with an empty graph.
func TestClusterSaysSo(t *testing.T) {
	addrs := testutil.FreeAddrs(t, 2)
	var o bytes.Buffer
	if err := run([]string{"--mode", "info", "--cluster", strings.Join(addrs, ","), "--task-index", "1"}, &o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	want := "cluster    worker 1 of 2, chief is worker 0; workers " + addrs[0] + ", " + addrs[1] + " (this); timeout 1m0s"
	if !strings.Contains(o.String(), want) {
		t.Errorf("info with --cluster: want %q in\n%s", want, o.String())
	}
	t.Setenv("TF_CONFIG", `{"cluster": {"chief": ["`+addrs[0]+`"], "worker": ["`+addrs[1]+`"]}, "task": {"type": "chief", "index": 0}}`)
	o.Reset()
	if err := run([]string{"--mode", "info"}, &o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	want = "cluster    worker 0 of 2, chief; workers " + addrs[0] + " (this), " + addrs[1] + "; timeout 1m0s"
	if !strings.Contains(o.String(), want) {
		t.Errorf("info with TF_CONFIG: want %q in\n%s", want, o.String())
	}
	os.Unsetenv("TF_CONFIG")

	dataDir := smallFashion(t, 120)
	var cmds []*exec.Cmd
	var stdouts, stderrs []*bytes.Buffer
	for w := range addrs {
		cmd := exec.Command(cliBinary(t), append(clusterArgs(dataDir, filepath.Join(t.TempDir(), "r"), 1),
			"--cluster", strings.Join(addrs, ","), "--task-index", strconv.Itoa(w), "--cluster-timeout", "20s")...)
		cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=0")
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, stdouts, stderrs = append(cmds, cmd), append(stdouts, &so), append(stderrs, &se)
	}
	for w, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("worker %d: %v\n%s%s", w, err, stdouts[w], stderrs[w])
		}
	}
	wants := []string{
		"cluster: worker 0 of 2, chief; workers " + addrs[0] + " (this), " + addrs[1] + "; timeout 20s",
		"cluster: worker 1 of 2, chief is worker 0; workers " + addrs[0] + ", " + addrs[1] + " (this); timeout 20s",
	}
	// The chief's report is its stdout; the other workers report on stderr.
	outs := []string{stdouts[0].String(), stderrs[1].String()}
	for w := range addrs {
		if got := firstLine(outs[w]); got != wants[w] {
			t.Errorf("worker %d's first line: %q, want %q", w, got, wants[w])
		}
		if all := stdouts[w].String() + stderrs[w].String(); strings.Contains(all, "GrpcSession::ListDevices") {
			t.Errorf("worker %d: TensorFlow warned about GrpcSession::ListDevices:\n%s", w, all)
		}
	}
}

// TestClusterSilentWorker: a worker stopped with SIGSTOP keeps its connections open and its
// kernel still accepts new ones, but it answers nothing; the chief exits non-zero within
// --cluster-timeout plus the probe's few seconds, naming it silent; restarting both with
// --resume continues from the chief's last checkpoint to the end. At start-up, a peer that
// accepts connections and never answers makes a worker fail within --cluster-timeout, naming it.
func TestClusterSilentWorker(t *testing.T) {
	const timeout = 4 * time.Second
	dataDir := smallFashion(t, 120)
	t.Run("mid-run", func(t *testing.T) {
		dirs := []string{filepath.Join(t.TempDir(), "chief"), filepath.Join(t.TempDir(), "w1")}
		addrs := testutil.FreeAddrs(t, 2)
		args := func(w int) []string {
			return append(clusterArgs(dataDir, dirs[w], 10, "--checkpoint-every", "4"), "--cluster", strings.Join(addrs, ","),
				"--task-index", strconv.Itoa(w), "--cluster-timeout", timeout.String())
		}
		var cmds []*exec.Cmd
		var outs []*bytes.Buffer
		for w := range addrs {
			cmd, out := startCLI(t, args(w))
			cmds, outs = append(cmds, cmd), append(outs, out)
		}
		defer func() {
			for _, c := range cmds {
				c.Process.Kill() // a stopped process dies of SIGKILL too
				c.Wait()
			}
		}()
		waitForStep(t, dirs[0], 6)
		if err := cmds[1].Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		done := make(chan error, 1)
		go func() { done <- cmds[0].Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(timeout + 30*time.Second):
			t.Fatalf("the chief still runs %s after worker 1 was stopped (cluster timeout %s):\n%s", time.Since(t0), timeout, outs[0])
		}
		d := time.Since(t0)
		t.Logf("the chief %s after worker 1 was stopped: %v\n%s", d, err, outs[0])
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(outs[0].String(), "silent now: worker 1 at "+addrs[1]) {
			t.Fatalf("the chief after worker 1 was stopped: %v\n%s", err, outs[0])
		}
		// The bound: the collective's timeout, the probe's deadline (5 s at most) and margin.
		if d > timeout+5*time.Second+10*time.Second {
			t.Errorf("the chief took %s to give up (cluster timeout %s)", d, timeout)
		}
		cmds[1].Process.Kill()
		cmds[1].Wait()
		last, err := tfgraph.LatestCheckpoint(filepath.Join(dirs[0], "checkpoints"))
		if err != nil {
			t.Fatal(err)
		}
		lastStep := strings.TrimPrefix(filepath.Base(last), "ckpt-")
		addrs = testutil.FreeAddrs(t, 2)
		cmds, outs = nil, nil
		for w := range addrs {
			cmd, out := startCLI(t, append(args(w), "--resume"))
			cmds, outs = append(cmds, cmd), append(outs, out)
		}
		for w, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("resumed worker %d: %v\n%s", w, err, outs[w])
			}
		}
		if !strings.Contains(outs[0].String(), "from step "+lastStep+"\n") {
			t.Fatalf("the resumed chief does not start from the last checkpoint (%s):\n%s", last, outs[0])
		}
		if step, _ := finalWeights(t, dirs[0]); step != 40 {
			t.Fatalf("the resumed run ends at step %d", step)
		}
	})

	t.Run("start-up", func(t *testing.T) {
		// A peer whose kernel accepts connections and which never answers: a listener that
		// holds every connection without reading it.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			var held []net.Conn
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				held = append(held, c)
			}
		}()
		addrs := []string{testutil.FreeAddrs(t, 1)[0], l.Addr().String()}
		t0 := time.Now()
		err = run(append(clusterArgs(dataDir, filepath.Join(t.TempDir(), "r"), 1), "--cluster", strings.Join(addrs, ","), "--task-index", "0",
			"--cluster-timeout", timeout.String()), &bytes.Buffer{}, &bytes.Buffer{})
		d := time.Since(t0)
		t.Logf("after %s: %v", d, err)
		if err == nil || !strings.Contains(err.Error(), "worker 1 at "+addrs[1]+" accepted connections but did not answer within "+timeout.String()) {
			t.Fatalf("a silent peer at start-up: %v", err)
		}
		if d > timeout+15*time.Second {
			t.Errorf("gave up after %s (cluster timeout %s)", d, timeout)
		}
	})
}
