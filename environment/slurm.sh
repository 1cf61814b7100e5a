#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for CI and for trying `alignmix sweep run --launcher
# slurm` without a real cluster. Debian's slurm-wlm (22.05) and munge, run as root without systemd.
#
#   bash environment/slurm.sh start    install slurm-wlm + munge from apt when missing (root), write
#                                      the config, start munged, slurmctld and slurmd, wait until
#                                      the node is idle; prints the SLURM_CONF line to export
#   bash environment/slurm.sh stop     stop the daemons this script started (by their pid files)
#   bash environment/slurm.sh status   daemons, sinfo and squeue
#   bash environment/slurm.sh env      print `export SLURM_CONF=...` (eval "$(... env)")
#
# Everything lives in one folder (ALIGNMIX_SLURM_DIR, default <repo>/.slurm): slurm.conf, pid
# files, logs, spool and controller state. The system's /etc/slurm is neither read nor written:
# clients find this cluster through SLURM_CONF, which sbatch passes on to the jobs.
#
# Why these settings: no systemd or cgroup delegation in containers, so processes are tracked by
# parent pid (proctrack/linuxproc) and tasks are not bound (task/none); cons_tres + CR_Core hands
# out cores one by one so array tasks share the node; ReturnToService=2 brings the node back after
# a restart; accounting is off (no slurmdbd), so job state comes from squeue / scontrol.
# AuthInfo cred_expire is also how long a requeued job waits before it may start again (default
# 120 s); 10 s, and a scheduler pass every 2 s instead of every 30-60 s, keep the requeue test short. Ports: ALIGNMIX_SLURM_PORT (controller; slurmd uses
# the next one), default 6817.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${ALIGNMIX_SLURM_DIR:-$REPO/.slurm}"
CONF="$DIR/slurm.conf"
PORT="${ALIGNMIX_SLURM_PORT:-6817}"
NODE="$(hostname -s)"
log() { echo "[alignmix slurm] $*" >&2; }
die() { echo "[alignmix slurm] $*" >&2; exit 1; }

# Pid file of a daemon this script started; "" when it is not running.
running_pid() {
  local file="$DIR/$1.pid"
  [ -s "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null && cat "$file" || true
}

install_packages() {
  local missing=""
  command -v slurmctld >/dev/null 2>&1 || missing="$missing slurm-wlm"
  command -v munged >/dev/null 2>&1 || missing="$missing munge"
  [ -z "$missing" ] && return 0
  [ "$(id -u)" = 0 ] || die "Slurm is not installed and this is not root: apt-get install$missing (as root), then run this again"
  command -v apt-get >/dev/null 2>&1 || die "Slurm is not installed and there is no apt-get: install$missing by hand"
  log "installing$missing from apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 $missing >/dev/null
}

write_config() {
  mkdir -p "$DIR/spool" "$DIR/state" "$DIR/log"
  local mem
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat >"$CONF" <<EOF
# Written by environment/slurm.sh (single-node cluster for alignmix; rewritten on every start).
ClusterName=alignmix
SlurmctldHost=$NODE
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
AuthInfo=cred_expire=10
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=30
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmdSpoolDir=$DIR/spool
StateSaveLocation=$DIR/state
NodeName=$NODE CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  [ -s /etc/munge/munge.key ] || die "no /etc/munge/munge.key (reinstall munge, or create one with mungekey)"
  munged -f --pid-file="$DIR/munged.pid" || die "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "munged started but does not answer"
}

start() {
  install_packages
  mkdir -p "$DIR"
  [ -n "$(running_pid slurmctld)" ] && [ -n "$(running_pid slurmd)" ] && { log "already running ($CONF)"; wait_idle; print_env; return 0; }
  stop >/dev/null
  write_config
  start_munge
  export SLURM_CONF="$CONF"
  slurmctld -f "$CONF" -i || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
  slurmd -f "$CONF" || die "slurmd did not start (see $DIR/log/slurmd.log)"
  wait_idle
  log "up: node $NODE idle ($(nproc) CPUs), partition local"
  print_env
}

wait_idle() {
  export SLURM_CONF="$CONF"
  for _ in $(seq 60); do
    [ "$(sinfo -h -N -o %t 2>/dev/null)" = idle ] && return 0
    sleep 0.5
  done
  die "the node did not become idle within 30 s; sinfo says: $(sinfo -N 2>&1 | tr '\n' ' '); logs in $DIR/log"
}

print_env() { echo "export SLURM_CONF=$CONF"; }

stop() {
  local name pid
  for name in slurmd slurmctld munged; do
    pid=$(running_pid "$name")
    [ -z "$pid" ] && continue
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    rm -f "$DIR/$name.pid"
    log "stopped $name ($pid)"
  done
}

status() {
  local name
  for name in munged slurmctld slurmd; do
    echo "$name: $([ -n "$(running_pid "$name")" ] && echo "running (pid $(running_pid "$name"))" || echo 'not running (from this script)')"
  done
  if [ -f "$CONF" ]; then
    SLURM_CONF="$CONF" sinfo 2>&1 || true
    SLURM_CONF="$CONF" squeue 2>&1 || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) print_env ;;
  *) echo "usage: bash environment/slurm.sh start|stop|status|env" >&2; exit 2 ;;
esac
