#!/usr/bin/env bash
# Start a single-node Slurm on this machine for the `cluster` tests (tests/test_cluster.py).
#
# Installs Debian's slurm-wlm and munge if absent (needs root), writes
# /etc/slurm/slurm.conf (one node, this host, at most 2 CPUs, partition "debug"),
# starts munged, slurmctld and slurmd, and waits until the node takes jobs.
# Idempotent: daemons already running are left alone. Refuses to overwrite a
# slurm.conf it did not write. Exit 0 when `srun -N1 true` works, non-zero otherwise.
#
#     bash scripts/start_test_slurm.sh          # prints where the logs are
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by phonomag scripts/start_test_slurm.sh"
LOGS=/var/log/slurm
CPUS=$(( $(nproc) < 2 ? $(nproc) : 2 ))
HOST=$(hostname -s)

if [ "$(id -u)" != 0 ]; then
    echo "start_test_slurm.sh: must run as root (it installs and starts system daemons)" >&2
    exit 1
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    echo "start_test_slurm.sh: $CONF exists and was not written by this script; not touching it" >&2
    exit 1
fi

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd "$LOGS" /run/munge /var/lib/munge /var/log/munge
cat > "$CONF" <<EOF
$MARK
ClusterName=phonomag-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --force
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 0400 /etc/munge/munge.key
pgrep -x munged >/dev/null || su -s /bin/sh munge -c "munged" 2>/dev/null || munged --force
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd

for _ in $(seq 60); do
    if sinfo -h -N -o "%T" 2>/dev/null | grep -qE "^(idle|mixed|allocated)"; then
        break
    fi
    scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
    sleep 1
done
if ! timeout 60 srun -N1 -n1 true; then
    echo "start_test_slurm.sh: the single-node Slurm does not run jobs; logs in $LOGS" >&2
    sinfo -N >&2 || true
    exit 1
fi
echo "single-node Slurm up on $HOST ($CPUS CPUs, partition debug); logs in $LOGS"
