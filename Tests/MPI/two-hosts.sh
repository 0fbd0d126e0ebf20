#!/usr/bin/env bash
# Runs `mpirun -np 2 ARGS...` as if on two hosts: two network namespaces, loom-host-a and
# loom-host-b, joined by a veth pair (10.77.0.1 and 10.77.0.2). mpirun runs in host a and
# starts the rank of host b through a launch agent that enters b's namespace instead of
# ssh; MPI's TCP transport only. The namespaces and links are removed on any exit.
# Needs root (ip netns); exits 77 when namespaces cannot be made here.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PROGRAM [ARGS...]" >&2; exit 2; }
a=loom-host-a b=loom-host-b
remove_hosts() {
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
}
remove_hosts
work=$(mktemp -d)
trap 'remove_hosts; rm -rf "$work"' EXIT
ip netns add "$a" 2>/dev/null || { echo "cannot create network namespaces here (root needed)" >&2; exit 77; }
ip netns add "$b"
ip link add loom-veth-a type veth peer name loom-veth-b
ip link set loom-veth-a netns "$a"
ip link set loom-veth-b netns "$b"
ip -n "$a" addr add 10.77.0.1/24 dev loom-veth-a
ip -n "$b" addr add 10.77.0.2/24 dev loom-veth-b
for ns in "$a" "$b"; do
    ip -n "$ns" link set lo up
done
ip -n "$a" link set loom-veth-a up
ip -n "$b" link set loom-veth-b up

# mpirun calls the agent as `agent HOST COMMAND...`, where ssh would log into HOST.
cat > "$work/agent" <<AGENT
#!/bin/sh
host=\$1; shift
case "\$host" in 10.77.0.2) ns=$b ;; *) ns=$a ;; esac
exec ip netns exec "\$ns" /bin/sh -c "\$*"
AGENT
chmod +x "$work/agent"

ip netns exec "$a" mpirun --allow-run-as-root --oversubscribe --bind-to none \
    --host 10.77.0.1:1,10.77.0.2:1 -np 2 \
    --mca plm_rsh_agent "$work/agent" \
    --mca pml ob1 --mca btl tcp,self \
    --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
    "$@"
