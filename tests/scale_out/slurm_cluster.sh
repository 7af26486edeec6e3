#!/usr/bin/env bash
# A real single-node Slurm cluster in a temporary folder, for tests (shared/recipes/
# slurm-single-node.md; Debian's slurm-wlm and munge, run as root, no systemd):
#
#   slurm_cluster.sh start DIR [CPUS]   munged on a private socket, slurmctld and slurmd
#                                       with DIR/slurm.conf on two free ports; waits until
#                                       the node is idle. Prints SLURM_CONF=DIR/slurm.conf.
#                                       Exit 0 when the cluster runs; 77 with the reason on
#                                       stderr when it cannot start (not root, no Slurm,
#                                       a daemon that dies), having stopped what it started.
#   slurm_cluster.sh stop DIR           stops every daemon it started, by the PIDs in DIR.
#
# Everything lives in DIR (configuration, state, spool, logs) and a private munge folder
# /tmp/hl-munge.* (its socket; removed by stop), so the cluster touches nothing of the
# machine's own Slurm or munge, and two clusters do not meet. The daemons' logs are
# DIR/log/*.log.
set -uo pipefail

cannot_start() {  # reason
  echo "slurm_cluster.sh: the Slurm daemons cannot start here: $1" >&2
  stop_cluster
  exit 77
}

stop_cluster() {
  local pidfile pid
  # Jobs first, while the daemons still run: their slurmstepd processes then end too
  # (a slurmd stopped under a running job leaves its slurmstepd behind).
  if [[ -s $dir/run/slurmctld.pid && -f $dir/slurm.conf ]]; then
    SLURM_CONF=$dir/slurm.conf scancel --full --user=root 2>/dev/null || true
    for _ in $(seq 100); do
      [[ -z $(SLURM_CONF=$dir/slurm.conf squeue -h -o %i 2>/dev/null) ]] && break
      sleep 0.1
    done
  fi
  local munge_dir
  munge_dir=$(cat "$dir/munge-dir" 2>/dev/null || true)
  for pidfile in "$dir/run/slurmd.pid" "$dir/run/slurmctld.pid" ${munge_dir:+"$munge_dir/munged.pid"}; do
    [[ -s $pidfile ]] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
  if [[ -n $munge_dir && -d $munge_dir ]]; then rm -rf "$munge_dir" && rm -f "$dir/munge-dir"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_cluster() {
  local cpus=$1 host port1 port2
  [[ $(id -u) -eq 0 ]] || cannot_start "not run as root (slurmd must be)"
  for program in munged munge slurmctld slurmd sinfo; do
    command -v "$program" >/dev/null || cannot_start "no '$program' (apt-get install slurm-wlm munge)"
  done
  [[ -r /etc/munge/munge.key ]] || cannot_start "no /etc/munge/munge.key (the munge package makes it)"
  mkdir -p "$dir"/{state,spool,run,log}
  # munged runs as the munge user and checks that every folder above its socket can be
  # entered by all: its own folder directly under /tmp (DIR's parents may be private).
  local munge_dir
  munge_dir=$(mktemp -d /tmp/hl-munge.XXXXXX)
  echo "$munge_dir" > "$dir/munge-dir"
  chmod 711 "$munge_dir"
  chown munge:munge "$munge_dir"
  runuser -u munge -- munged --socket="$munge_dir/munge.socket" --pid-file="$munge_dir/munged.pid" \
    --log-file="$munge_dir/munged.log" --seed-file="$munge_dir/munged.seed" \
    || cannot_start "munged failed: $(tail -n 2 "$munge_dir/munged.log" 2>/dev/null)"
  munge -n -S "$munge_dir/munge.socket" | unmunge -S "$munge_dir/munge.socket" >/dev/null \
    || cannot_start "munge -n | unmunge fails on the private socket"

  host=$(hostname -s)
  port1=$(free_port)
  port2=$(free_port)
  while [[ $port2 == "$port1" ]]; do port2=$(free_port); done
  cat > "$dir/slurm.conf" <<CONF
ClusterName=hltest
SlurmctldHost=$host
SlurmctldPort=$port1
SlurmdPort=$port2
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_dir/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF" || cannot_start "slurmctld failed: $(tail -n 3 "$dir/log/slurmctld.log" 2>/dev/null)"
  slurmd -f "$SLURM_CONF" || cannot_start "slurmd failed: $(tail -n 3 "$dir/log/slurmd.log" 2>/dev/null)"
  for _ in $(seq 60); do
    if [[ $(sinfo -h -N -o '%t' 2>/dev/null) == idle ]]; then
      echo "SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.5
  done
  cannot_start "the node did not become idle in 30 s: sinfo says '$(sinfo -h -N -o '%t %E' 2>&1)'; $(tail -n 3 "$dir/log/slurmctld.log" 2>/dev/null)"
}

case "${1:-}" in
  start) dir=${2:?usage: slurm_cluster.sh start DIR [CPUS]}; start_cluster "${3:-2}" ;;
  stop) dir=${2:?usage: slurm_cluster.sh stop DIR}; stop_cluster ;;
  *) echo "usage: slurm_cluster.sh start DIR [CPUS] | stop DIR" >&2; exit 2 ;;
esac
