#!/bin/sh
# netns-demo.sh: two nnclr workers on one machine, each in its own network namespace with its
# own address (10.233.77.1 and .2, which exist only inside the two namespaces), joined by a veth
# link, optionally limited to a bandwidth with tc tbf. Needs root (or CAP_SYS_ADMIN and
# CAP_NET_ADMIN) and iproute2 (make setup installs it). The namespaces are deleted on exit.
#
#   deploy/netns-demo.sh [--rate 1gbit] [--bin bin/nnclr-tf] [--timeout 3600] -- PRETRAIN FLAGS
#   deploy/netns-demo.sh --rate 1gbit -- --mode pretrain --dataset stl10 --run-dir runs/ns
#
# Every flag after -- goes to both workers, then --cluster and --task-index; worker 0 is the
# chief (it writes the run directory), worker 1's output goes to worker1.log in the current
# directory.
set -eu
rate= bin=bin/nnclr-tf limit=3600
while [ $# -gt 0 ]; do
	case $1 in
	--rate) rate=$2; shift 2 ;;
	--bin) bin=$2; shift 2 ;;
	--timeout) limit=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "netns-demo: unknown option $1 (flags for nnclr go after --)" >&2; exit 2 ;;
	esac
done
[ -x "$bin" ] || { echo "netns-demo: no $bin (go build -o bin/nnclr-tf ./cmd/nnclr)" >&2; exit 2; }
command -v ip >/dev/null || { echo "netns-demo: no ip command (apt-get install iproute2)" >&2; exit 2; }

a=nnclr-demo-$$-a b=nnclr-demo-$$-b
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
ip netns add "$a"
ip netns add "$b"
ip link add veth-a netns "$a" type veth peer name veth-b netns "$b"
ip -n "$a" link set lo up
ip -n "$b" link set lo up
ip -n "$a" addr add 10.233.77.1/24 dev veth-a
ip -n "$b" addr add 10.233.77.2/24 dev veth-b
ip -n "$a" link set veth-a up
ip -n "$b" link set veth-b up
if [ -n "$rate" ]; then
	# burst: a few ms at the rate, at least one 64 KiB GSO segment
	ip netns exec "$a" tc qdisc add dev veth-a root tbf rate "$rate" burst 2mb latency 100ms
	ip netns exec "$b" tc qdisc add dev veth-b root tbf rate "$rate" burst 2mb latency 100ms
fi
cluster=10.233.77.1:2222,10.233.77.2:2222
echo "netns-demo: worker 0 in $a at 10.233.77.1, worker 1 in $b at 10.233.77.2, link ${rate:-unlimited}" >&2
timeout "$limit" ip netns exec "$b" "$bin" "$@" --cluster "$cluster" --task-index 1 >worker1.log 2>&1 &
w1=$!
status=0
timeout "$limit" ip netns exec "$a" "$bin" "$@" --cluster "$cluster" --task-index 0 || status=$?
wait "$w1" || { s=$?; echo "netns-demo: worker 1 (10.233.77.2:2222) exited $s, see worker1.log" >&2; [ $status -ne 0 ] || status=$s; }
[ $status -eq 0 ] || echo "netns-demo: worker 0 (10.233.77.1:2222) exited $status" >&2
exit $status
