#!/bin/sh
# Used by TestMcastCluster (discovery_mcast_test.go), run as
#   unshare --net sh testdata/mcast-cluster.sh BIN DIR TIMEOUT_SECONDS
# in a network namespace of its own, so the host's lo is never touched. It
# gives the namespace's lo multicast and a route to 224.0.0.0/4, starts the
# three nodes of DIR/n1.conf..n3.conf (`ekka-mesh run --config` and nothing
# else), polls `ekka-mesh ctl status --json` on each until all three run
# together or the timeout passes, and prints:
#   FORMED_MS <milliseconds from the last start to one cluster, or none>
#   STATUS n<k> <the JSON of ctl status on node k>
#   LOG n<k> / the node's log / END n<k>
set -u
bin=$1 dir=$2 timeout_s=$3
ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo || {
	echo "SETUP FAILED"
	exit 3
}
export HOME="$dir"
pids=""
for k in 1 2 3; do
	"$bin" run --config "$dir/n$k.conf" >"$dir/n$k.log" 2>&1 &
	pids="$pids $!"
done
start=$(date +%s%N)
status() {
	"$bin" ctl --config "$dir/n$1.conf" --node "n$1@127.0.0.$1" --timeout 2s status --json 2>&1
}
want='"running_nodes":["n1@127.0.0.1","n2@127.0.0.2","n3@127.0.0.3"],"stopped_nodes":[]'
formed=none
while :; do
	ok=1
	for k in 1 2 3; do
		case $(status $k) in
		*"$want"*) ;;
		*) ok=0 ;;
		esac
	done
	now=$(date +%s%N)
	if [ $ok = 1 ]; then
		formed=$(((now - start) / 1000000))
		break
	fi
	if [ $(((now - start) / 1000000000)) -ge "$timeout_s" ]; then
		break
	fi
	sleep 0.05
done
echo "FORMED_MS $formed"
for k in 1 2 3; do
	echo "STATUS n$k $(status $k)"
done
kill -TERM $pids
wait
for k in 1 2 3; do
	echo "LOG n$k"
	cat "$dir/n$k.log"
	echo "END n$k"
done
