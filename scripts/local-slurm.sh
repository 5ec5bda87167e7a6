#!/usr/bin/env bash
# Starts and stops a throw-away single-node Slurm cluster (munged + slurmctld + slurmd) whose
# every file lives in one scratch folder, for tests that submit `sbatch --array` jobs.
#
#   scripts/local-slurm.sh start DIR [CPUS]
#       Creates DIR and starts the cluster in it. CPUS (optional) is the number of CPUs the node
#       advertises (default: what `slurmd -C` finds); more CPUs run more array tasks at once.
#       On success prints exactly one line `SLURM_CONF=DIR/slurm.conf` on stdout, exit 0.
#       On failure stops whatever it started, prints one line
#       `local-slurm: cannot start: <why>` on stderr, exit 3.
#   scripts/local-slurm.sh stop DIR
#       Cancels all jobs, waits until the queue is empty, shuts the daemons down and waits until
#       their processes are gone. Safe to call twice or on a half-started DIR. Exit 0.
#
# Layout of DIR: slurm.conf, munge/ (key, socket, seed; mode 0755), run/ (pid files),
# log/ (daemon logs; *.stderr holds what a daemon printed before its log was open),
# state/ (StateSaveLocation), spool/ (SlurmdSpoolDir). Other files in DIR are left alone.
#
# Environment (optional):
#   LOCAL_SLURM_TIMEOUT      seconds `start` waits for an idle node (default 20)
#   LOCAL_SLURM_EXTRA_CONF   lines appended to slurm.conf (a hook for tests, e.g. of failures)
#   LOCAL_SLURM_LOCK         lock file that serialises port picking between concurrent starts
#                            (default /tmp/local-slurm-ports.lock)
#
# Ports: SlurmctldPort and SlurmdPort are picked at random in 10000-32767 (below Linux's
# ephemeral range) among ports no socket uses, under a lock held until the daemons listen, so
# two clusters never clash.
set -euo pipefail
set -E # the ERR trap of `start` also fires inside functions

prog=local-slurm

usage() {
  echo "usage: $0 start DIR [CPUS] | stop DIR" >&2
  exit 2
}

# ---- helpers -----------------------------------------------------------------------------

# proc_state PID: the state letter of PID from /proc/PID/stat (nothing when there is no PID).
proc_state() {
  local stat=""
  [[ $1 =~ ^[0-9]+$ ]] || return 0
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
  stat=${stat##*) }
  echo "${stat%% *}"
}

# pid_alive PID: true while PID exists and is neither a zombie nor dead (in this sandbox dead
# processes linger unreaped for a second or more, so `kill -0` is not enough).
pid_alive() {
  local state
  state=$(proc_state "$1")
  [[ -n $state && $state != Z && $state != X && $state != x ]]
}

# any_alive PID...: true while one of PIDs is alive.
any_alive() {
  local pid
  for pid in "$@"; do
    if pid_alive "$pid"; then return 0; fi
  done
  return 1
}

# read_pid FILE: the pid in FILE, or nothing.
read_pid() {
  local pid=""
  if [ -r "$1" ]; then read -r pid <"$1" 2>/dev/null || true; fi
  if [[ $pid =~ ^[0-9]+$ ]]; then echo "$pid"; fi
}

# proc_comm PID: the command name of PID, or nothing.
proc_comm() {
  local comm=""
  { read -r comm <"/proc/$1/comm"; } 2>/dev/null || true
  echo "$comm"
}

# proc_cmdline PID: the command line of PID, arguments separated by spaces.
proc_cmdline() {
  local -a a=()
  { mapfile -d '' -t a <"/proc/$1/cmdline"; } 2>/dev/null || true
  echo "${a[*]}"
}

# belongs PID: true when the live process PID is one of this cluster's (its command line names
# DIR/slurm.conf or DIR/munge/, or its environment has SLURM_CONF=DIR/slurm.conf, which the
# daemons and their slurmstepd inherit), so a stale pid file never makes us signal another.
belongs() {
  local pid=$1 cmdline
  local -a env=()
  pid_alive "$pid" || return 1
  cmdline="$(proc_cmdline "$pid") "
  [[ $cmdline == *" $dir/slurm.conf "* || $cmdline == *"=$dir/munge/"* ]] && return 0
  { mapfile -d '' -t env <"/proc/$pid/environ"; } 2>/dev/null || true
  [[ " ${env[*]} " == *" SLURM_CONF=$dir/slurm.conf "* ]]
}

# last_line FILE...: the last non-empty line of the first of FILEs that has one.
last_line() {
  local f l
  for f in "$@"; do
    [ -s "$f" ] || continue
    l=$(grep -v '^[[:space:]]*$' "$f" 2>/dev/null | tail -n 1) || true
    if [ -n "$l" ]; then
      echo "$l"
      return
    fi
  done
  echo "(no log output)"
}

# daemon_why NAME: "see LOG: last line" for daemon NAME. A daemon that dies before its log is
# open (a bad slurm.conf) writes to DIR/log/NAME.stderr instead; its last error line is named
# too, as the last line is then only "fatal: Unable to process configuration file".
daemon_why() {
  local log="$dir/log/$1.log" err="$dir/log/$1.stderr" last first_err
  if [ -s "$err" ] && ! [ -s "$log" ]; then
    last=$(last_line "$err")
    first_err=$(grep -m1 -E 'error|fatal' "$err" 2>/dev/null) || true
    if [ -n "$first_err" ] && [ "$first_err" != "$last" ]; then
      echo "see $err: $first_err ... $last"
    else
      echo "see $err: $last"
    fi
  else
    echo "see $log: $(last_line "$log" "$err")"
  fi
}

# ports_in_use: every local TCP/UDP port some socket uses, in decimal, one a line.
ports_in_use() {
  local f
  for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
    [ -r "$f" ] && awk 'NR > 1 { split($2, a, ":"); print a[2] }' "$f"
  done | sort -u | while read -r hex; do echo $((16#$hex)); done
}

# port_listening PORT: true when some socket listens on TCP PORT.
port_listening() {
  local hex
  hex=$(printf '%04X' "$1")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    awk -v p="$hex" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == p) found = 1 } END { exit !found }'
}

# pick_ports: sets ctld_port and slurmd_port to two distinct free ports.
pick_ports() {
  local used tries=0 p
  used=" $(ports_in_use | tr '\n' ' ') "
  ctld_port="" slurmd_port=""
  while [ -z "$slurmd_port" ]; do
    tries=$((tries + 1))
    [ $tries -le 1000 ] || return 1
    p=$((10000 + (RANDOM * 32768 + RANDOM) % 22768))
    [[ $used == *" $p "* ]] && continue
    used+="$p "
    if [ -z "$ctld_port" ]; then ctld_port=$p; else slurmd_port=$p; fi
  done
}

# slurm_cmd CMD ARGS...: a Slurm client command for this cluster, bounded in time.
slurm_cmd() {
  SLURM_CONF="$conf" timeout 5 "$@"
}

# ---- stop --------------------------------------------------------------------------------

# end_pid NAME PID: SIGTERM, wait up to 10 s, then SIGKILL and wait up to 5 s more.
end_pid() {
  local name=$1 pid=$2 i
  belongs "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true # a stopped process acts on SIGTERM only once continued
  for ((i = 0; i < 100; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  echo "$prog: $name (pid $pid) does not go away" >&2
}

# has_process NAME: true when a live process called NAME belongs to this cluster.
has_process() {
  local d
  for d in /proc/[0-9]*; do
    [ "$(proc_comm "${d#/proc/}")" = "$1" ] && belongs "${d#/proc/}" && return 0
  done
  return 1
}

# leftovers: pids of live slurmctld/slurmd/slurmstepd/munged processes of this cluster.
leftovers() {
  local d pid
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [ "$pid" != "$$" ] || continue
    case $(proc_comm "$pid") in
      slurmctld | slurmd | slurmstepd | munged) if belongs "$pid"; then echo "$pid"; fi ;;
    esac
  done
}

# kill_jobs: the fallback when jobs could not be cancelled (slurmctld dead): SIGKILL every job
# process of this cluster (its slurmstepd, batch scripts in DIR/spool and all their
# descendants), so that no task outlives the cluster. (slurmstepd ignores SIGTERM for 10 s and
# more while it cannot reach slurmctld.)
kill_jobs() {
  local d pid stat rest ppid i
  local -a roots=() procs=() victims=()
  local -A kids=() seen=()
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [ "$pid" != "$$" ] || continue
    stat=""
    { read -r stat <"$d/stat"; } 2>/dev/null || continue
    rest=${stat##*) }
    read -r _ ppid _ <<<"$rest"
    kids[$ppid]+=" $pid"
    if [ "$(proc_comm "$pid")" = slurmstepd ]; then
      if belongs "$pid"; then roots+=("$pid"); fi
    elif [[ "$(proc_cmdline "$pid") " == *"$dir/spool/"* ]]; then
      roots+=("$pid")
    fi
  done
  [ ${#roots[@]} -gt 0 ] || return 0
  procs=("${roots[@]}")
  for ((i = 0; i < ${#procs[@]}; i++)); do
    pid=${procs[$i]}
    [ -z "${seen[$pid]:-}" ] || continue
    seen[$pid]=1
    victims+=("$pid")
    # shellcheck disable=SC2206
    procs+=(${kids[$pid]:-})
  done
  kill -KILL "${victims[@]}" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    any_alive "${victims[@]}" || break
    sleep 0.1
  done
}

stop_cluster() {
  local ctld_pid slurmd_pid munged_pid i n pid ids
  ctld_pid=$(read_pid "$dir/run/slurmctld.pid")
  slurmd_pid=$(read_pid "$dir/run/slurmd.pid")
  munged_pid=$(read_pid "$dir/run/munged.pid")

  if [ -f "$conf" ] && [ -n "$ctld_pid" ] && belongs "$ctld_pid" &&
    ids=$(slurm_cmd squeue -h -o %A 2>/dev/null); then
    # Running jobs survive `scontrol shutdown`: cancel them and wait (bounded) for an empty queue.
    # (When slurmctld does not answer, kill_jobs below ends the jobs' processes instead.)
    if [ -n "${ids//[[:space:]]/}" ]; then
      # shellcheck disable=SC2046 # job ids, one a word
      slurm_cmd scancel $(sort -u <<<"$ids") >/dev/null 2>&1 || true
      for ((i = 0; i < 150; i++)); do
        n=$(slurm_cmd squeue -h -o %A 2>/dev/null | wc -l) || break
        [ "$n" -eq 0 ] && break
        sleep 0.1
      done
    fi
    if slurm_cmd scontrol shutdown >/dev/null 2>&1; then
      for ((i = 0; i < 100; i++)); do
        if ! pid_alive "$ctld_pid" && ! pid_alive "${slurmd_pid:-x}"; then break; fi
        sleep 0.1
      done
    fi
  fi
  kill_jobs
  [ -z "$slurmd_pid" ] || end_pid slurmd "$slurmd_pid"
  [ -z "$ctld_pid" ] || end_pid slurmctld "$ctld_pid"
  [ -z "$munged_pid" ] || end_pid munged "$munged_pid"
  # Whatever is left (daemons whose pid file never appeared, slurmstepd of killed jobs).
  for pid in $(leftovers); do
    end_pid "$(proc_comm "$pid")" "$pid"
  done
  rm -f "$dir/run/slurmctld.pid" "$dir/run/slurmd.pid" "$dir/run/munged.pid"
}

# ---- start -------------------------------------------------------------------------------

lock_fd_open=0

cannot_start() {
  trap - ERR INT TERM HUP
  set +e
  if [ $lock_fd_open -eq 1 ]; then exec 9>&-; fi
  stop_cluster >/dev/null 2>&1
  echo "$prog: cannot start: $*" | tr '\n' ' ' | sed 's/ *$//' >&2
  echo >&2
  exit 3
}

# wait_daemon NAME PIDFILE DEADLINE CHECK...: waits until the daemon NAME has written its pid
# file and CHECK succeeds; fails the start when it dies or the deadline passes.
wait_daemon() {
  local name=$1 pidfile=$2 deadline=$3 pid="" since
  shift 3
  since=$(date +%s%N)
  while :; do
    [ -n "$pid" ] || pid=$(read_pid "$pidfile")
    if [ -n "$pid" ] && ! pid_alive "$pid"; then
      cannot_start "$name exited; $(daemon_why "$name")"
    fi
    # No pid file after 2 s and no such process of this cluster: it died before writing it.
    if [ -z "$pid" ] && [ $(($(date +%s%N) - since)) -gt 2000000000 ] && ! has_process "$name"; then
      cannot_start "$name exited; $(daemon_why "$name")"
    fi
    if [ -n "$pid" ] && "$@" >/dev/null 2>&1; then
      return 0
    fi
    if [ "$(date +%s%N)" -ge "$deadline" ]; then
      cannot_start "$name not ready after ${start_timeout}s; $(daemon_why "$name")"
    fi
    sleep 0.05
  done
}

munge_ok() {
  munge -n -S "$dir/munge/munge.socket" | unmunge -S "$dir/munge/munge.socket"
}

start_cluster() {
  local cpus=$1 b bin deadline node_line host mem

  trap 'cannot_start "internal error at line $LINENO: $BASH_COMMAND"' ERR
  trap 'cannot_start "interrupted"' INT TERM HUP

  local bin_slurmctld bin_slurmd bin_munged bin_mungekey
  for b in slurmctld slurmd munged mungekey munge unmunge sbatch sinfo squeue scancel scontrol; do
    bin=$(command -v "$b" 2>/dev/null) ||
      cannot_start "$b not installed (install slurmctld slurmd slurm-client munge, see scripts/install-deps.sh)"
    case $b in
      slurmctld) bin_slurmctld=$bin ;;
      slurmd) bin_slurmd=$bin ;;
      munged) bin_munged=$bin ;;
      mungekey) bin_mungekey=$bin ;;
    esac
  done

  if [ -n "$(leftovers)" ]; then
    echo "$prog: cannot start: a cluster is already running in $dir (run: $0 stop $dir)" >&2
    exit 3
  fi

  start_timeout=${LOCAL_SLURM_TIMEOUT:-20}
  [[ $start_timeout =~ ^[0-9]+$ ]] || cannot_start "LOCAL_SLURM_TIMEOUT must be whole seconds, not '$start_timeout'"
  deadline=$(($(date +%s%N) + start_timeout * 1000000000))

  # Fresh state: an earlier cluster's jobs must not come back.
  rm -rf "$dir/munge" "$dir/run" "$dir/log" "$dir/state" "$dir/spool" "$conf"
  mkdir -p "$dir/munge" "$dir/run" "$dir/log" "$dir/state" "$dir/spool"
  chmod 0755 "$dir/munge" # munged refuses a socket folder with other modes

  # munge
  "$bin_mungekey" -c -k "$dir/munge/munge.key" >"$dir/log/mungekey.stderr" 2>&1 ||
    cannot_start "mungekey failed; see $dir/log/mungekey.stderr: $(last_line "$dir/log/mungekey.stderr")"
  chmod 0600 "$dir/munge/munge.key"
  "$bin_munged" --force \
    --socket="$dir/munge/munge.socket" \
    --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/run/munged.pid" \
    --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed" \
    </dev/null >"$dir/log/munged.stderr" 2>&1 9>&- ||
    cannot_start "munged refused to start; $(daemon_why munged)"
  wait_daemon munged "$dir/run/munged.pid" "$deadline" munge_ok

  # slurm.conf: the node as `slurmd -C` sees it, CPUs=CPUS if given.
  node_line=$("$bin_slurmd" -C 2>/dev/null | grep -m1 '^NodeName=') ||
    cannot_start "slurmd -C printed no node line"
  host=$(sed -E 's/^NodeName=([^ ]+).*/\1/' <<<"$node_line")
  mem=$(sed -nE 's/.*RealMemory=([0-9]+).*/\1/p' <<<"$node_line")
  if [ -n "$cpus" ]; then
    node_line="NodeName=$host CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=${mem:-1}"
  fi

  # Ports: under a lock until both daemons listen, so concurrent starts never pick the same.
  exec 9>>"${LOCAL_SLURM_LOCK:-/tmp/local-slurm-ports.lock}"
  lock_fd_open=1
  flock -w "$start_timeout" 9 || cannot_start "timed out waiting for the port lock ${LOCAL_SLURM_LOCK:-/tmp/local-slurm-ports.lock}"
  pick_ports || cannot_start "found no free TCP ports"

  cat >"$conf" <<EOF
# Written by scripts/local-slurm.sh: a throw-away single-node cluster in $dir
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
$node_line NodeAddr=127.0.0.1 NodeHostname=$host State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$dir/plugstack.conf"
  if [ -n "${LOCAL_SLURM_EXTRA_CONF:-}" ]; then
    printf '%s\n' "$LOCAL_SLURM_EXTRA_CONF" >>"$conf"
  fi

  SLURM_CONF="$conf" "$bin_slurmctld" -f "$conf" </dev/null >"$dir/log/slurmctld.stderr" 2>&1 9>&- ||
    cannot_start "slurmctld exited at once; $(daemon_why slurmctld)"
  wait_daemon slurmctld "$dir/run/slurmctld.pid" "$deadline" port_listening "$ctld_port"

  SLURM_CONF="$conf" "$bin_slurmd" -f "$conf" -N "$host" </dev/null >"$dir/log/slurmd.stderr" 2>&1 9>&- ||
    cannot_start "slurmd exited at once; $(daemon_why slurmd)"
  wait_daemon slurmd "$dir/run/slurmd.pid" "$deadline" port_listening "$slurmd_port"
  exec 9>&-
  lock_fd_open=0

  # The node registers and turns idle; both daemons must stay up meanwhile.
  local ctld_pid slurmd_pid state=""
  ctld_pid=$(read_pid "$dir/run/slurmctld.pid")
  slurmd_pid=$(read_pid "$dir/run/slurmd.pid")
  while :; do
    pid_alive "$ctld_pid" || cannot_start "slurmctld exited; $(daemon_why slurmctld)"
    pid_alive "$slurmd_pid" || cannot_start "slurmd exited; $(daemon_why slurmd)"
    state=$(SLURM_CONF="$conf" timeout 2 sinfo -h -N -n "$host" -o %t 2>/dev/null) || state="(sinfo failed)"
    [ "$state" != idle ] || break
    if [ "$(date +%s%N)" -ge "$deadline" ]; then
      cannot_start "node $host not idle after ${start_timeout}s (state: ${state:-none}); see $dir/log/slurmctld.log: $(last_line "$dir/log/slurmctld.log")"
    fi
    sleep 0.05
  done

  trap - ERR INT TERM HUP
  echo "SLURM_CONF=$conf"
}

# ---- main --------------------------------------------------------------------------------

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
case $dir in
  /*) ;;
  *) dir=$PWD/$dir ;;
esac
dir=$(realpath -m -- "$dir")
[ "$dir" != / ] || usage
conf=$dir/slurm.conf

case $cmd in
  start)
    [ $# -le 3 ] || usage
    cpus=${3:-}
    if [ -n "$cpus" ] && ! [[ $cpus =~ ^[1-9][0-9]*$ ]]; then
      echo "$prog: CPUS must be a positive integer, not '$cpus'" >&2
      exit 2
    fi
    if [[ $dir =~ [[:space:]#=,\'\"] ]]; then
      echo "$prog: cannot start: DIR must not contain spaces or any of #=,'\" (slurm.conf cannot hold it): $dir" >&2
      exit 3
    fi
    mkdir -p "$dir" 2>/dev/null || {
      echo "$prog: cannot start: cannot create $dir" >&2
      exit 3
    }
    start_cluster "$cpus"
    ;;
  stop)
    [ $# -eq 2 ] || usage
    [ -d "$dir" ] || exit 0
    stop_cluster
    ;;
  *) usage ;;
esac
