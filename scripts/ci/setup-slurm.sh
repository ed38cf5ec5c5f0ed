#!/usr/bin/env bash
# Installs and starts a real one-node SLURM cluster (Debian's slurm-wlm + munge, no systemd) so the
# slurm executor can be tested for real. Follows shared/notes/slurm-single-node.md.
#
# Idempotent and fast when already done: installs only missing packages, rewrites the munge key and
# slurm.conf only when absent or different, starts munged/slurmctld/slurmd only when not running,
# then waits until `sinfo` shows the node idle (or mixed/allocated: it is up).
# Needs root. Exits non-zero with a clear message on failure.
#
# Prints the environment the tests use:
#   NODEWORKS_TEST_SLURM_PARTITION=debug
#
# Stop the daemons afterwards by their pids (never by name):
#   kill $(cat /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid)
set -euo pipefail

NW_CI_DIR="${NW_CI_DIR:-/var/lib/nodeworks-ci}"
PARTITION="debug"
WAIT_S="${SLURM_SETUP_WAIT_S:-60}"

say() { echo "setup-slurm: $*"; }
die() {
    echo "setup-slurm: ERROR: $*" >&2
    for log in /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log; do
        if [ -s "$log" ]; then echo "--- last lines of $log" >&2; tail -n 15 "$log" >&2; fi
    done
    exit 1
}
trap 'die "unexpected failure at line $LINENO (exit status $?)"' ERR

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"

need_pkgs=()
for cmd in sbatch slurmctld slurmd; do command -v "$cmd" >/dev/null 2>&1 || need_pkgs=(slurm-wlm); done
command -v munged >/dev/null 2>&1 || [ -x /usr/sbin/munged ] || need_pkgs+=(munge)
if [ -n "${need_pkgs[*]:-}" ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing ${need_pkgs[*]} and no apt-get to install them with"
    say "installing slurm-wlm munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || die "apt-get update failed"
    apt-get install -y -q slurm-wlm munge || die "apt-get install slurm-wlm munge failed"
fi
for exe in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd; do
    [ -x "$exe" ] || die "$exe is missing after installation"
done

# Whether a pid is a live (not zombie) process named $2.
is_daemon() {  # $1 = pid, $2 = executable name
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] \
        && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]
}
# pid of a running daemon from its pid file, if the process is alive and really is that daemon.
running_pid() {  # $1 = pid file, $2 = executable name
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    if is_daemon "$pid" "$2"; then echo "$pid"; fi
    return 0
}
# Fallback when the pid file is gone: an exact process-name match (read only, never used to kill).
any_pid() {
    local pid
    for pid in $(pgrep -x "$1" 2>/dev/null || true); do
        if is_daemon "$pid" "$1"; then echo "$pid"; return 0; fi
    done
    return 0
}

# --- munge
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
    say "writing /etc/munge/munge.key"
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
chmod 400 /etc/munge/munge.key
chmod 755 /run/munge
if [ -z "$(running_pid /run/munge/munged.pid munged)" ] && [ -z "$(any_pid munged)" ]; then
    say "starting munged"
    su -s /bin/sh munge -c /usr/sbin/munged || die "munged did not start (see /var/log/munge/munged.log)"
fi
for _ in $(seq 1 50); do
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then break; fi
    sleep 0.1
done
munge -n | unmunge 2>&1 | grep -q Success || die "munge does not work: 'munge -n | unmunge' did not say Success"

# --- slurm.conf
H="$(hostname -s)"
[ -n "$H" ] || die "hostname -s is empty"
CONF=/etc/slurm/slurm.conf
want="ClusterName=local
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
NodeName=$H CPUs=2 RealMemory=2000 State=UNKNOWN
PartitionName=$PARTITION Nodes=$H Default=YES MaxTime=INFINITE State=UP"
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
conf_changed=0
if [ "$(cat "$CONF" 2>/dev/null)" != "$want" ]; then
    say "writing $CONF (node $H)"
    printf '%s\n' "$want" > "$CONF"
    conf_changed=1
fi
# 22.05 has no CgroupPlugin=disabled: with no cgroup.conf at all slurmd starts (see the note).
if [ -e /etc/slurm/cgroup.conf ]; then
    die "/etc/slurm/cgroup.conf exists; slurmd 22.05 needs it absent on this kind of machine (remove it)"
fi

ctld_pid="$(running_pid /run/slurmctld.pid slurmctld)"; [ -n "$ctld_pid" ] || ctld_pid="$(any_pid slurmctld)"
d_pid="$(running_pid /run/slurmd.pid slurmd)"; [ -n "$d_pid" ] || d_pid="$(any_pid slurmd)"
if [ "$conf_changed" = 1 ] && { [ -n "$ctld_pid" ] || [ -n "$d_pid" ]; }; then
    say "slurm.conf changed: reconfiguring the running daemons"
    scontrol reconfigure || die "scontrol reconfigure failed; stop slurmctld ($ctld_pid) and slurmd ($d_pid) and rerun"
fi
if [ -z "$ctld_pid" ]; then
    say "starting slurmctld"
    /usr/sbin/slurmctld || die "slurmctld did not start"
fi
if [ -z "$d_pid" ]; then
    say "starting slurmd"
    /usr/sbin/slurmd || die "slurmd did not start"
fi

state=""
deadline=$((SECONDS + WAIT_S))
while [ $SECONDS -lt $deadline ]; do
    state="$(sinfo -h -p "$PARTITION" -o '%t' 2>/dev/null | head -n1 || true)"
    case "$state" in
        idle|mix|alloc|comp) break ;;
        down*|drain*|fail*)
            # A node left down by an earlier unclean stop: bring it back.
            scontrol update NodeName="$H" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
done
case "$state" in
    idle|mix|alloc|comp) ;;
    *) die "the node did not become idle within ${WAIT_S}s (sinfo state: '${state:-none}')" ;;
esac
say "SLURM is up: partition $PARTITION, node $H $state"
echo "export NODEWORKS_TEST_SLURM_PARTITION=$PARTITION"
