package testutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Netns is two network namespaces joined by a veth pair: each namespace has its own network
// stack, its loopback up, one veth end and one address of a private /24 that exists only inside
// these two namespaces. Processes started with Command see only their namespace's stack, so two
// workers in them talk over the veth link as two hosts would over a cable.
type Netns struct {
	NS   [2]string // the namespaces' names (unique to this test process)
	Veth [2]string // the veth end inside each namespace
	Addr [2]string // each namespace's address, without a port
}

// ipTimeout bounds every ip/tc command NewNetns and its methods run.
const ipTimeout = 10 * time.Second

// NewNetns makes two namespaces joined by a veth pair (addresses 10.233.S.1 and .2/24) and
// deletes them at the test's cleanup, also when the test fails. It skips the test, saying why,
// when this process may not make namespaces (no CAP_SYS_ADMIN); any other failure (no ip
// command: make setup installs iproute2) fails the test.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	pid := os.Getpid()
	tag := fmt.Sprintf("nnclr-%d-%d", pid, time.Now().UnixNano()%1_000_000)
	sub := pid%250 + 1
	n := &Netns{
		NS:   [2]string{tag + "-a", tag + "-b"},
		Veth: [2]string{"veth-a", "veth-b"},
		Addr: [2]string{fmt.Sprintf("10.233.%d.1", sub), fmt.Sprintf("10.233.%d.2", sub)},
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("netns: no ip command (make setup installs iproute2): %v", err)
	}
	if out, err := ipRun("ip", "netns", "add", n.NS[0]); err != nil {
		if strings.Contains(out, "Operation not permitted") || strings.Contains(out, "Permission denied") {
			t.Skipf("netns: this process may not make network namespaces (needs CAP_SYS_ADMIN): ip netns add: %s", strings.TrimSpace(out))
		}
		t.Fatalf("netns: ip netns add %s: %v: %s", n.NS[0], err, out)
	}
	t.Cleanup(func() {
		for _, ns := range n.NS {
			if out, err := ipRun("ip", "netns", "del", ns); err != nil && !strings.Contains(out, "No such file") {
				t.Errorf("netns: ip netns del %s: %v: %s", ns, err, out)
			}
		}
	})
	steps := [][]string{
		{"ip", "netns", "add", n.NS[1]},
		{"ip", "link", "add", n.Veth[0], "netns", n.NS[0], "type", "veth", "peer", "name", n.Veth[1], "netns", n.NS[1]},
	}
	for i := range n.NS {
		in := []string{"ip", "netns", "exec", n.NS[i]}
		steps = append(steps,
			append(in, "ip", "link", "set", "lo", "up"),
			append(in, "ip", "addr", "add", n.Addr[i]+"/24", "dev", n.Veth[i]),
			append(in, "ip", "link", "set", n.Veth[i], "up"))
	}
	for _, s := range steps {
		if out, err := ipRun(s[0], s[1:]...); err != nil {
			t.Fatalf("netns: %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	return n
}

// Command returns a command that runs name with args inside namespace i (0 or 1), ended when
// ctx is done. `ip netns exec` execs name in place, so the command's process is name's.
func (n *Netns) Command(ctx context.Context, i int, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.NS[i], name}, args...)...)
}

// SetRate limits both veth ends' egress to rate (tc's notation, "1gbit", "10gbit") with a token
// bucket filter (tbf; this kernel has no netem), or removes the limit when rate is "".
func (n *Netns) SetRate(rate string) error {
	var errs []error
	for i := range n.NS {
		in := []string{"netns", "exec", n.NS[i], "tc", "qdisc"}
		var args []string
		if rate == "" {
			args = append(in, "del", "dev", n.Veth[i], "root")
		} else {
			// Burst: 2 ms at the rate (at least 64 KiB, a GSO segment), so that the bucket,
			// not the timer resolution, sets the rate; latency bounds the queue.
			bits, err := rateBits(rate)
			if err != nil {
				return err
			}
			burst := max(bits/8/500, 64<<10)
			args = append(in, "replace", "dev", n.Veth[i], "root", "tbf", "rate", rate,
				"burst", fmt.Sprint(burst), "latency", "100ms")
		}
		if out, err := ipRun("ip", args...); err != nil && !(rate == "" && strings.Contains(out, "No such file")) &&
			!(rate == "" && strings.Contains(out, "Cannot delete qdisc with handle of zero")) {
			errs = append(errs, fmt.Errorf("netns: %s: tc qdisc on %s: %w: %s", n.NS[i], n.Veth[i], err, strings.TrimSpace(out)))
		}
	}
	return errors.Join(errs...)
}

// rateBits parses tc rates of the form <n>gbit or <n>mbit.
func rateBits(rate string) (int64, error) {
	for suffix, mult := range map[string]int64{"gbit": 1e9, "mbit": 1e6} {
		if v, ok := strings.CutSuffix(rate, suffix); ok {
			var x int64
			if _, err := fmt.Sscan(v, &x); err == nil && x > 0 {
				return x * mult, nil
			}
		}
	}
	return 0, fmt.Errorf("netns: rate %q: want <n>gbit or <n>mbit", rate)
}

// ipRun runs an ip/tc command, bounded by ipTimeout, and returns its combined output.
func ipRun(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ipTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
