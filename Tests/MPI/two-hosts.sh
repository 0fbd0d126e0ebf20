#!/usr/bin/env bash
# Runs `mpirun -np 2 ARGS...` as if on two hosts: two network namespaces, loom-host-a and
# loom-host-b, joined by a veth pair (10.77.0.1 and 10.77.0.2). mpirun runs in host a and
# starts the rank of host b through a launch agent that enters b's namespace instead of
# ssh; MPI's TCP transport only. The namespaces and links are removed on any exit.
# With LOOM_CUT_LINK_WHEN=FILE, the link between the hosts goes down once FILE exists (a
# network partition while the job runs; "two-hosts.sh: link cut after S s" on stderr). mpirun's daemons probe an idle link
# after 10 s (keepalives 1 s apart, 3 missed), so mpirun itself ends once a host is gone:
# by default Open MPI waits 300 s before the first probe.
# Needs root (ip netns); exits 77 when namespaces cannot be made here.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PROGRAM [ARGS...]" >&2; exit 2; }
a=loom-host-a b=loom-host-b
# The loom ranks still running in the namespaces.
ranks_left() {
    for ns in "$a" "$b"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = loom ] && echo "$pid"
        done
    done
    return 0
}
# Ends the hosts: ranks get 15 s to end on their own (a rank cut off ends at its
# --rank-timeout), any left is named on stderr; then every process still there (Open MPI's
# daemon behind a cut link waits forever) is killed and the namespaces removed.
remove_hosts() {
    local deadline=$((SECONDS + 15))
    while [ -n "$(ranks_left)" ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    for pid in $(ranks_left); do echo "two-hosts.sh: rank process $pid was still running; killed" >&2; done
    for ns in "$a" "$b"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}
remove_hosts
work=$(mktemp -d)
cutter=
trap '{ [ -z "$cutter" ] || kill "$cutter" 2>/dev/null || true; }; remove_hosts; rm -rf "$work"' EXIT
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
    --mca oob_tcp_keepalive_time 10 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3 \
    "$@" &
mpirun_pid=$!
# A TERM (a caller's watchdog) ends mpirun and runs the EXIT trap, which removes the hosts.
trap 'kill "$mpirun_pid" 2>/dev/null || true; exit 143' TERM

# The cut: once the ranks have ended on their own, mpirun may still wait for the daemon
# behind the cut (Open MPI's keepalive does not probe a link with unsent data); it is ended
# 2 s later, as a cluster manager would end a job whose host is gone.
if [ -n "${LOOM_CUT_LINK_WHEN:-}" ]; then
    (
        while [ ! -e "$LOOM_CUT_LINK_WHEN" ]; do sleep 0.1; done
        ip -n "$b" link set loom-veth-b down && echo "two-hosts.sh: link cut after $SECONDS s" >&2
        while [ -n "$(ranks_left)" ]; do sleep 0.2; done
        sleep 2
        if kill -0 "$mpirun_pid" 2>/dev/null; then
            echo "two-hosts.sh: mpirun still waits for the host behind the cut; ended" >&2
            kill -9 "$mpirun_pid"
        fi
    ) &
    cutter=$!
fi

status=0
wait "$mpirun_pid" || status=$?
exit "$status"
