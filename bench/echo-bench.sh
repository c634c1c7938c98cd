#!/bin/sh
# echo-bench.sh: every forknet echo-server model against the classic Unix
# echo servers and an epoll yardstick, on loopback, in one run (make bench).
#
# Servers, each started by this script on 127.0.0.1 and stopped by its pid:
#   every binary of FORKNETS x every model its `echo-server -m help` lists;
#   xinetd's internal echo (a private configuration file), tcpserver ... cat,
#   socat ... PIPE, socat ... EXEC:cat, ncat -k --exec /bin/cat, and
#   BUILD/bench/yardstick (SO_REUSEPORT workers with an epoll loop each).
# Loads, from BUILD/forknet bench, the same for every server, in ROUNDS rounds
# (odd rounds in server order, even rounds in reverse), each measurement on a
# freshly started server:
#   conn: -c 50 -s 64             connections/s, p99, machine CPU per connection
#   echo: -c 50 -s 64 -d 1        messages/s, p99, machine CPU per message
#   idle: -c IDLE --ramp 50       Pss of the server's process tree per connection
# then, in one round, connections/s and messages/s against concurrency (SWEEP),
# and the generator check: bench -j 2 against two benches with half the slots.
# Results in OUT: echo-results.txt, echo-results.csv, echo-results.json,
# echo-sweep.csv, echo-sweep.dat, echo-conn.png, echo-msgs.png; the tables go
# to standard output as well, progress to standard error.
#
# Usage: bench/echo-bench.sh [BUILD [OUT]]   (default: build, BUILD/bench-results)
# Environment:
#   FORKNETS="label=path ..."  the forknet binaries (default forknet=BUILD/forknet)
#   DURATION  seconds per measured run (5)        WARMUP  seconds before it (1)
#   ROUNDS    rounds of the main table (2)        IDLE    idle connections (1000)
#   SWEEP     concurrencies ("1 2 5 10 20 50 100 200")
#   SWEEP_DURATION  seconds per sweep point (DURATION/2 rounded up; cut when the
#             whole run would take more than 25 minutes)
#   XINETD_HOSTS  private (default when possible) or system: see xinetd_launch
#   ONLY      an extended regular expression: only the servers whose label
#             matches it, and the yardstick (ONLY='hybrid' IDLE=10000)
#   QUICK=1   a smoke run: DURATION=1 WARMUP=0 ROUNDS=1 SWEEP="1 50" IDLE=100
#             (each unless set)
#
# Processes and signals: each server runs in a session of its own (setsid), so
# a ^C at the terminal reaches this script and bench but not the servers. The
# trap on EXIT, INT and TERM stops the running bench, the CPU sampler and the
# server (the server's descendants first, so that the server reaps them and
# none is left to init; then the server; SIGKILL after a deadline) and removes
# the temporary directory.
# Exit status: 0 done, 64 usage error, 69 a tool is missing, 1 other failure.
# Needs Linux (/proc), GNU sleep (fractions of a second), ps, ss, awk, jq,
# gnuplot and the peers (tests/install-deps bench).
set -eu

build=${1:-build}
out=${2:-$build/bench-results}
if [ "${QUICK:-0}" = 1 ]; then
	duration=${DURATION:-1} warmup=${WARMUP:-0} rounds=${ROUNDS:-1}
	sweep=${SWEEP:-"1 50"} idle=${IDLE:-100}
else
	duration=${DURATION:-5} warmup=${WARMUP:-1} rounds=${ROUNDS:-2}
	sweep=${SWEEP:-"1 2 5 10 20 50 100 200"} idle=${IDLE:-1000}
fi
sweep_duration=${SWEEP_DURATION:-$(((duration + 1) / 2))}
forknets=${FORKNETS:-"forknet=$build/forknet"}
generator=$build/forknet
yardstick=$build/bench/yardstick
budget=1500 # seconds: the whole default run should stay under 25 minutes
tab=$(printf '\t')

# Prints a message to standard error, in the form of every message here.
say() {
	echo "echo-bench: $*" >&2
}

# Ends the script with a usage error.
usage_error() {
	say "$*"
	echo "usage: bench/echo-bench.sh [BUILD [OUT]] (see the comment at its top)" >&2
	exit 64
}

# Checks that variable NAME's VALUE is a whole number of at least MIN.
need_number() {
	case $2 in
	'' | *[!0-9]*) usage_error "$1 must be a whole number, not '$2'" ;;
	esac
	[ "$2" -ge "$3" ] || usage_error "$1 must be at least $3, not $2"
}

need_number DURATION "$duration" 1
need_number WARMUP "$warmup" 0
need_number ROUNDS "$rounds" 1
need_number IDLE "$idle" 1
need_number SWEEP_DURATION "$sweep_duration" 1
[ -n "$sweep" ] || usage_error "SWEEP is empty"
for concurrency in $sweep; do
	need_number "a SWEEP concurrency" "$concurrency" 1
done

# Ends the script with status 69 when TOOL is not installed; HINT says how to get it.
need_tool() {
	command -v "$1" >/dev/null 2>&1 || { say "$1 is missing: $2"; exit 69; }
}

for tool in xinetd tcpserver socat ncat gnuplot jq; do
	need_tool "$tool" "run tests/install-deps bench"
done
for tool in ps ss awk mktemp; do
	need_tool "$tool" "install it (procps, iproute2, mawk, coreutils)"
done
[ -x "$generator" ] || { say "$generator is missing: run make"; exit 69; }
[ -x "$yardstick" ] || { say "$yardstick is missing: run make $yardstick"; exit 69; }
for entry in $forknets; do
	label=${entry%%=*} path=${entry#*=}
	case $entry in *=*) ;; *) usage_error "FORKNETS: '$entry' is not label=path" ;; esac
	case $label in
	'' | *[!A-Za-z0-9._-]*) usage_error "FORKNETS: label '$label' must be letters, digits, . _ -" ;;
	esac
	[ -x "$path" ] || { say "$path ($label) is missing: run make"; exit 69; }
done

# Descriptors: as many as the hard limit allows (bench raises its own).
# ulimit -H and -n are not POSIX, but dash, bash and busybox sh all have them.
# shellcheck disable=SC3045
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=$(cat /proc/sys/fs/nr_open)
# shellcheck disable=SC3045
ulimit -n "$hard" 2>/dev/null || say "cannot raise ulimit -n to $hard; it stays $(ulimit -n)"

# The servers' own connection limits, set well above any load here.
max_children=$idle
for concurrency in $sweep 50; do
	[ "$concurrency" -gt "$max_children" ] && max_children=$concurrency
done
max_children=$((max_children + 100))
[ "$max_children" -gt 65536 ] && max_children=65536 # forknet's -c range

# setsid puts a server in a session of its own (it execs in place: a background
# job of a script is no process group leader, so the pid stays the server's).
detach=""
command -v setsid >/dev/null 2>&1 && detach=setsid

mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/echo-bench.XXXXXX")
server_pid="" bench_pids="" sampler_pid=""
started=$(date +%s)

# --- processes ---------------------------------------------------------------

# Succeeds when process PID exists and is not a zombie.
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	alive_stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	alive_state=${alive_stat##*) }
	[ -n "$alive_stat" ] && [ "${alive_state%% *}" != Z ]
}

# Prints PID and all its descendants, one a line as "DEPTH PID" (PID itself at
# depth 0), from one ps listing.
tree_depths() {
	ps -e -o pid= -o ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END {
			for (pid in parent) {
				up = pid
				depth = 0
				while (up != root && (up in parent) && up > 1) {
					up = parent[up]
					depth++
				}
				if (up == root)
					print depth, pid
			}
		}'
}

# Prints PID and all its descendants, one a line.
tree_pids() {
	tree_depths "$1" | awk '{ print $2 }'
}

# Waits up to SECONDS for every PID given to have left /proc (reaped by its
# parent); fails if some are still there then.
wait_gone() {
	gone_left=$(($1 * 20))
	shift
	while [ "$gone_left" -gt 0 ]; do
		gone_any=""
		for gone_pid in "$@"; do
			[ -e "/proc/$gone_pid" ] && gone_any=yes && break
		done
		[ -z "$gone_any" ] && return 0
		gone_left=$((gone_left - 1))
		sleep 0.05
	done
	return 1
}

# Waits up to SECONDS for process PID to be dead (a zombie counts as dead).
wait_dead() {
	dead_left=$(($1 * 20))
	while alive "$2"; do
		[ "$dead_left" -gt 0 ] || return 1
		dead_left=$((dead_left - 1))
		sleep 0.05
	done
}

# Stops the current server: its descendants first, the deepest first (each
# parent reaps its children, so none is orphaned to init: socat and ncat
# children have a cat of their own), then the server, which this shell reaps;
# SIGKILL for whatever outlives its deadline. Does nothing when none runs.
server_stop() {
	[ -n "$server_pid" ] || return 0
	tree_depths "$server_pid" | sort -rn >"$work/tree"
	stop_depth=$(head -n 1 "$work/tree" | cut -d ' ' -f 1)
	while [ "${stop_depth:-0}" -gt 0 ]; do
		stop_level=$(awk -v d="$stop_depth" '$1 == d { print $2 }' "$work/tree")
		# shellcheck disable=SC2086 # one pid a word
		kill -TERM $stop_level 2>/dev/null || true
		# shellcheck disable=SC2086
		wait_gone 3 $stop_level || true
		stop_depth=$((stop_depth - 1))
	done
	kill -TERM "$server_pid" 2>/dev/null || true
	wait_dead 6 "$server_pid" || kill -KILL "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	while read -r stop_depth stop_pid; do
		if [ "$stop_depth" -gt 0 ] && alive "$stop_pid"; then
			kill -KILL "$stop_pid" 2>/dev/null || true
		fi
	done <"$work/tree"
	server_pid=""
}

# Waits for bench PID and sets bench_status; SIGTERM after TIMEOUT seconds of
# overrun (bench then stops its jobs and still prints its summary), SIGKILL
# 10 s later.
bench_wait() {
	bench_left=$(($2 * 20))
	while alive "$1"; do
		if [ "$bench_left" -eq 0 ]; then
			say "bench $1 overran its time: stopping it"
			kill -TERM "$1" 2>/dev/null || true
			wait_dead 10 "$1" || kill -KILL "$1" 2>/dev/null || true
			break
		fi
		bench_left=$((bench_left - 1))
		sleep 0.05
	done
	bench_status=0
	wait "$1" || bench_status=$?
}

# Stops every bench still running (on a signal or an error).
benches_stop() {
	for stop_pid in $bench_pids; do
		kill -TERM "$stop_pid" 2>/dev/null || true
	done
	for stop_pid in $bench_pids; do
		wait_dead 7 "$stop_pid" || kill -KILL "$stop_pid" 2>/dev/null || true
		wait "$stop_pid" 2>/dev/null || true
	done
	bench_pids=""
}

# Stops the CPU sampler: its sleep is killed (the subshell then reaps it and
# exits, so no sleep is left to init), and the subshell is waited for.
sampler_stop() {
	[ -n "$sampler_pid" ] || return 0
	sampler_left=40
	while alive "$sampler_pid" && [ "$sampler_left" -gt 0 ]; do
		# shellcheck disable=SC2046 # one pid a word
		kill -TERM $(tree_pids "$sampler_pid" | grep -vx "$sampler_pid") 2>/dev/null || true
		sampler_left=$((sampler_left - 1))
		sleep 0.05
	done
	kill -KILL "$sampler_pid" 2>/dev/null || true
	wait "$sampler_pid" 2>/dev/null || true
	sampler_pid=""
}

# The EXIT trap: stops everything this script started, removes the work
# directory, keeps the exit status. Signals are ignored while it runs.
cleanup() {
	cleanup_status=$?
	trap '' INT TERM
	trap - EXIT
	benches_stop
	sampler_stop
	server_stop
	rm -rf "$work"
	exit "$cleanup_status"
}
trap cleanup EXIT
trap 'say "stopped by SIGINT"; exit 130' INT
trap 'say "stopped by SIGTERM"; exit 143' TERM

# --- measurements ------------------------------------------------------------

# Prints the machine's busy jiffies so far, all CPUs together: user, nice,
# system, irq and softirq of /proc/stat (idle, iowait and steal left out;
# guest time is already inside user).
cpu_busy() {
	read -r _ busy_user busy_nice busy_system _ _ busy_irq busy_softirq _ </proc/stat
	echo $((busy_user + busy_nice + busy_system + busy_irq + busy_softirq))
}

# Starts the CPU sampler: after WARMUP seconds it notes the busy jiffies, and
# again SECONDS later, so that it covers bench's measured interval.
sampler_start() {
	rm -f "$work/cpu.a" "$work/cpu.b"
	(
		sleep "$1" || exit 0
		cpu_busy >"$work/cpu.a"
		sleep "$2" || exit 0
		cpu_busy >"$work/cpu.b"
	) 2>/dev/null &
	sampler_pid=$!
}

# Ends the sampler and sets rec_jiffies: the busy jiffies over the interval,
# or null when the run did not last it (bench failed: nothing to wait for).
sampler_finish() {
	rec_jiffies=null
	if [ "$1" = ok ]; then
		wait "$sampler_pid" || true
		sampler_pid=""
		if [ -s "$work/cpu.a" ] && [ -s "$work/cpu.b" ]; then
			rec_jiffies=$(($(cat "$work/cpu.b") - $(cat "$work/cpu.a")))
		fi
	fi
	sampler_stop
}

# Prints the Pss, in KiB, of the processes given, summed (smaps_rollup).
pss_sum() {
	for pss_pid in "$@"; do
		echo "/proc/$pss_pid/smaps_rollup"
	done | xargs cat 2>/dev/null | awk '/^Pss:/ { sum += $2 } END { print sum + 0 }'
}

# Appends the record of one run to runs.jsonl: the current server, rec_load,
# rec_round, rec_conc, rec_seconds, rec_status, rec_jiffies, rec_failed,
# rec_extra (a JSON object merged in) and bench's JSON from file rec_json.
record() {
	jq -e . "$rec_json" >/dev/null 2>&1 || rec_json=/dev/null
	jq -cn --arg server "$sid" --arg name "$s_label" --arg load "$rec_load" \
		--argjson round "$rec_round" --argjson concurrency "$rec_conc" \
		--argjson seconds "$rec_seconds" --argjson status "$rec_status" \
		--argjson jiffies "$rec_jiffies" --arg failed "$rec_failed" \
		--argjson extra "$rec_extra" --slurpfile bench "$rec_json" \
		--arg pid "$server_pid" --arg port "${server_port:-}" \
		'{server: $server, label: $name, load: $load, round: $round,
		  server_pid: ($pid | tonumber? // null), port: ($port | tonumber? // null),
		  concurrency: $concurrency, seconds: $seconds, status: $status,
		  jiffies: $jiffies, failed: (if $failed == "" then null else $failed end),
		  bench: ($bench[0] // null)} + $extra' >>"$work/runs.jsonl"
	rec_failed="" rec_extra="{}" rec_status=null rec_jiffies=null
}
rec_failed="" rec_extra="{}" rec_status=null rec_jiffies=null

# Records a run that could not be made: LOAD ROUND CONCURRENCY WHY.
record_failure() {
	rec_load=$1 rec_round=$2 rec_conc=$3 rec_seconds=0 rec_failed=$4 rec_json=/dev/null
	record
	say "$s_label, $1 (round $2): $4"
}

# Prints one line of progress for the run whose bench JSON is in FILE.
progress() {
	jq -er --arg what "$2" '"echo-bench: \($what): \(.ops_per_second)/s, p99 \(.latency_us.p99) µs, \(.errors.total) errors, bench cpu \(.cpu_percent)%"' "$1" >&2 2>/dev/null ||
		say "$2: no result (bench status $bench_status: $(tail -n 1 "$work/bench.err" 2>/dev/null))"
}

# Runs bench once against the current server and records it.
# Usage: bench_once LOAD ROUND MODE CONCURRENCY SECONDS [BENCH OPTION]...
bench_once() {
	rec_load=$1 rec_round=$2 once_mode=$3 rec_conc=$4 rec_seconds=$5
	shift 5
	sampler_start "$warmup" "$rec_seconds"
	"$generator" bench -m "$once_mode" -c "$rec_conc" -s 64 -t "$rec_seconds" \
		--warmup "$warmup" "$@" --json 127.0.0.1 "$server_port" \
		>"$work/bench.json" 2>"$work/bench.err" &
	bench_pids=$!
	bench_wait "$bench_pids" $((warmup + rec_seconds + 30))
	bench_pids=""
	case $bench_status in
	0 | 1) sampler_finish ok ;;
	*) sampler_finish failed ;;
	esac
	rec_status=$bench_status rec_json=$work/bench.json
	[ "$bench_status" -le 1 ] || [ "$bench_status" -eq 69 ] ||
		rec_failed="bench failed (status $bench_status): $(tail -n 1 "$work/bench.err")"
	progress "$rec_json" "$s_label, $rec_load c=$rec_conc (round $rec_round)"
	record
}

# Measures the server's Pss per idle connection: its process tree before, and
# once bench says it holds IDLE connections. Usage: idle_once ROUND.
idle_once() {
	rec_load=idle rec_round=$1 rec_conc=$idle rec_seconds=0
	# shellcheck disable=SC2046 # one pid a word
	idle_base=$(pss_sum $(tree_pids "$server_pid"))
	idle_nbase=$(tree_pids "$server_pid" | wc -l)
	"$generator" bench -m idle -c "$idle" --ramp 50 -t "$idle_hold" --json \
		127.0.0.1 "$server_port" >"$work/bench.json" 2>"$work/bench.err" &
	bench_pids=$!
	idle_ready=false
	idle_deadline=$(($(date +%s) + idle_wait))
	while alive "$bench_pids" && [ "$(date +%s)" -lt "$idle_deadline" ]; do
		if grep -q '^ready:' "$work/bench.err"; then
			idle_ready=true
			break
		fi
		sleep 0.1
	done
	idle_held=null idle_nheld=null
	if [ "$idle_ready" = true ]; then
		idle_pids=$(tree_pids "$server_pid")
		# shellcheck disable=SC2086
		idle_held=$(pss_sum $idle_pids)
		idle_nheld=$(echo "$idle_pids" | wc -l)
	fi
	kill -TERM "$bench_pids" 2>/dev/null || true
	bench_wait "$bench_pids" 15
	bench_pids=""
	rec_status=$bench_status rec_json=$work/bench.json
	if [ "$idle_ready" != true ]; then
		rec_failed="not ready: bench did not hold $idle connections within ${idle_wait} s"
		jq -e . "$rec_json" >/dev/null 2>&1 &&
			rec_failed="$rec_failed (held $(jq .held "$rec_json"))"
		say "$s_label, idle (round $1): $rec_failed"
	else
		say "$s_label, idle (round $1): Pss $idle_base KiB in $idle_nbase processes, $idle_held KiB in $idle_nheld with $idle connections"
	fi
	rec_extra=$(jq -cn --argjson base "$idle_base" --argjson held "$idle_held" \
		--argjson nbase "$idle_nbase" --argjson nheld "$idle_nheld" \
		--argjson ready "$idle_ready" --argjson idle "$idle" \
		'{pss_base_kib: $base, pss_held_kib: $held, processes_base: $nbase,
		  processes_held: $nheld, ready: $ready, idle: $idle}')
	record
}

# --- servers -------------------------------------------------------------------

# Sets s_label, s_kind, s_arg1 and s_arg2 from server SID's line in servers.tsv.
server_load() {
	sid=$1
	IFS=$tab read -r _ s_label s_kind s_arg1 s_arg2 <<EOF
$(grep "^$sid$tab" "$work/servers.tsv")
EOF
}

# Waits up to 5 s for 'listening on 127.0.0.1:PORT' in server.log while the
# server lives; sets server_port.
wait_listening_line() {
	line_deadline=$(($(date +%s) + 5))
	while :; do
		server_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/server.log" | head -n 1)
		[ -n "$server_port" ] && return 0
		alive "$server_pid" || return 1
		[ "$(date +%s)" -lt "$line_deadline" ] || return 1
		sleep 0.05
	done
}

# Waits up to 5 s for a listener on 127.0.0.1:server_port while the server
# lives. The port was free when picked, so a listener there now is the server's.
wait_listening_port() {
	port_deadline=$(($(date +%s) + 5))
	while :; do
		[ -n "$(ss -Htln "( sport = :$server_port )" 2>/dev/null)" ] && alive "$server_pid" && return 0
		alive "$server_pid" || return 1
		[ "$(date +%s)" -lt "$port_deadline" ] || return 1
		sleep 0.05
	done
}

# Sets server_port to a port no socket uses, below the ephemeral range (where
# bench's own connections take their ports) or, if none is there, above it.
port_pick() {
	read -r pick_low pick_high </proc/sys/net/ipv4/ip_local_port_range
	if [ "$pick_low" -gt 11024 ]; then
		pick_from=10000 pick_span=$((pick_low - 10000))
	else
		pick_from=$((pick_high + 1)) pick_span=$((65535 - pick_high))
	fi
	pick_tries=0
	while [ "$pick_tries" -lt 100 ]; do
		pick_seed=$((pick_seed + 1)) pick_tries=$((pick_tries + 1))
		server_port=$(awk -v seed="$pick_seed" -v from="$pick_from" -v span="$pick_span" \
			'BEGIN { srand(seed); print from + int(rand() * span) }')
		[ -z "$(ss -Htan "( sport = :$server_port )" 2>/dev/null)" ] && return 0
	done
	return 1
}
pick_seed=$(($$ + started))

# Describes why the server that was just launched is not up, in start_error;
# reaps it if it has exited (start_status: its status, or "").
launch_failed() {
	start_status=""
	if ! alive "$server_pid"; then
		start_status=0
		wait "$server_pid" || start_status=$?
		server_pid=""
		start_error="exited with status $start_status"
	else
		start_error="not listening after 5 s"
	fi
	start_error="$start_error$(tail -n 1 "$work/server.log" 2>/dev/null | sed 's/^./: &/')"
}

# Launches forknet binary s_arg1 with model s_arg2 on port 0. A model that
# refuses -c (status 64 naming --max-children: it has no children) is run
# without it from then on.
forknet_launch() {
	if [ -e "$work/$sid.no-c" ]; then
		$detach "$s_arg1" echo-server -m "$s_arg2" -q -b 127.0.0.1 -p 0 2>"$work/server.log" &
	else
		$detach "$s_arg1" echo-server -m "$s_arg2" -q -c "$max_children" \
			-b 127.0.0.1 -p 0 2>"$work/server.log" &
	fi
	server_pid=$!
	wait_listening_line && return 0
	launch_failed
	if [ "$start_status" = 64 ] && [ ! -e "$work/$sid.no-c" ] &&
		grep -q -e '--max-children' "$work/server.log"; then
		touch "$work/$sid.no-c"
		echo "$s_label: refuses -c (\"$(tail -n 1 "$work/server.log")\"), so it runs without it" >>"$work/notes"
		forknet_launch
		return
	fi
	return 1
}

# Writes xinetd's private configuration for server_port: the internal echo,
# no limits that a benchmark would hit, nothing logged per connection.
xinetd_config() {
	cat >"$work/xinetd.conf" <<EOF
# echo-bench: xinetd's internal TCP echo on 127.0.0.1:$server_port.
# UNLISTED: port differs from echo's in /etc/services. NOLIBWRAP: no
# hosts.allow lookups. instances, per_source: no limit; cps: never trips
# (the default, 50 10, would stop the service for 10 s). max_load is left
# out: no load limit. Nothing logged per connection (forknet runs with -q).
service echo
{
	type           = INTERNAL UNLISTED
	id             = echo-stream
	socket_type    = stream
	protocol       = tcp
	wait           = no
	user           = $(id -un)
	bind           = 127.0.0.1
	port           = $server_port
	flags          = NOLIBWRAP
	instances      = UNLIMITED
	per_source     = UNLIMITED
	cps            = 100000 1
	log_type       = FILE $work/xinetd.log
	log_on_success =
	log_on_failure =
}
EOF
}

# Launches xinetd. For an internal service each child calls getnameinfo() on
# the client's address (to name itself in ps), without NI_NUMERICHOST; bench
# connects from 127.0.0.1 to 127.0.0.64 and only 127.0.0.1 is in /etc/hosts,
# so the rest go to DNS, whose round trips (and, on a resolver that limits its
# rate, 5 s timeouts) would then be what is measured. With XINETD_HOSTS=private
# (the default where unshare -m works, as root) xinetd runs in a mount
# namespace of its own with a copy of /etc/hosts that names those 64 addresses
# bind-mounted on /etc/hosts: the system's file is never touched.
xinetd_launch() {
	xinetd_config
	if [ "$xinetd_hosts" = private ]; then
		# shellcheck disable=SC2016 # expanded by that sh
		$detach unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' \
			sh "$work/hosts" xinetd -dontfork -f "$work/xinetd.conf" \
			-pidfile "$work/xinetd.pid" 2>"$work/server.log" &
	else
		$detach xinetd -dontfork -f "$work/xinetd.conf" -pidfile "$work/xinetd.pid" \
			2>"$work/server.log" &
	fi
	server_pid=$!
}

# Launches the current server once; sets server_pid and server_port, or fails
# with start_error set.
server_launch() {
	: >"$work/server.log"
	case $s_kind in
	forknet)
		forknet_launch
		return
		;;
	yardstick)
		$detach "$yardstick" -b 127.0.0.1 -p 0 2>"$work/server.log" &
		server_pid=$!
		wait_listening_line && return 0
		launch_failed
		return 1
		;;
	esac
	port_pick || { start_error="no free port found"; return 1; }
	case $s_kind in
	xinetd) xinetd_launch ;;
	tcpserver)
		$detach tcpserver -c 100000 -b 1024 -H -R -l 0 127.0.0.1 "$server_port" cat \
			2>"$work/server.log" &
		server_pid=$!
		;;
	socat)
		$detach socat "TCP-LISTEN:$server_port,bind=127.0.0.1,reuseaddr,fork,backlog=1024" \
			"$s_arg1" 2>"$work/server.log" &
		server_pid=$!
		;;
	ncat)
		$detach ncat -n -l -k --max-conns "$max_children" 127.0.0.1 "$server_port" \
			--exec /bin/cat 2>"$work/server.log" &
		server_pid=$!
		;;
	esac
	wait_listening_port && return 0
	launch_failed
	return 1
}

# Starts the current server fresh: three tries (a fixed port may have been
# taken meanwhile); fails with start_error set.
server_start() {
	start_try=1
	while [ "$start_try" -le 3 ]; do
		server_launch && return 0
		server_stop
		start_try=$((start_try + 1))
	done
	return 1
}

# One measurement of the main table on a fresh server: SID LOAD ROUND.
measure() {
	server_load "$1"
	if ! server_start; then
		record_failure "$2" "$3" 50 "failed to start: $start_error"
		return 0
	fi
	case $2 in
	conn) bench_once conn "$3" conn 50 "$duration" ;;
	echo) bench_once echo "$3" echo 50 "$duration" -d 1 ;;
	idle) idle_once "$3" ;;
	esac
	server_stop
}

# The sweeps of server SID: one start, then conn mode and echo mode at every
# concurrency of SWEEP (the server restarted if it died on the way).
sweep_server() {
	server_load "$1"
	if ! server_start; then
		for sweep_mode in conn echo; do
			for concurrency in $sweep; do
				record_failure "sweep-$sweep_mode" 1 "$concurrency" "failed to start: $start_error"
			done
		done
		return 0
	fi
	for sweep_mode in conn echo; do
		sweep_depth=""
		[ "$sweep_mode" = echo ] && sweep_depth="-d 1"
		for concurrency in $sweep; do
			if [ -z "$server_pid" ] || ! alive "$server_pid"; then
				server_stop
				if ! server_start; then
					record_failure "sweep-$sweep_mode" 1 "$concurrency" "failed to restart: $start_error"
					continue
				fi
			fi
			# shellcheck disable=SC2086 # empty or two words
			bench_once "sweep-$sweep_mode" 1 "$sweep_mode" "$concurrency" "$sweep_duration" $sweep_depth
		done
	done
	server_stop
}

# The generator check: bench -j 2 with 50 slots against the yardstick, then two
# benches at once with 25 slots each, on the same yardstick.
generator_check() {
	server_load "$yardstick_id"
	if ! server_start; then
		record_failure j2 1 50 "failed to start: $start_error"
		return 0
	fi
	bench_once j2 1 conn 50 "$duration" -j 2
	for half in 1 2; do
		"$generator" bench -m conn -c 25 -s 64 -t "$duration" --warmup "$warmup" --json \
			127.0.0.1 "$server_port" >"$work/half$half.json" 2>"$work/half$half.err" &
		bench_pids="$bench_pids $!"
	done
	half=1
	for half_pid in $bench_pids; do
		bench_wait "$half_pid" $((warmup + duration + 30))
		rec_load=half rec_round=$half rec_conc=25 rec_seconds=$duration
		rec_status=$bench_status rec_json=$work/half$half.json
		progress "$rec_json" "yardstick, two benches at once, bench $half, c=25"
		record
		half=$((half + 1))
	done
	bench_pids=""
	server_stop
}

# --- the server list -----------------------------------------------------------

# Adds a server to servers.tsv: LABEL KIND [ARG1 [ARG2]]; with ONLY set, only
# the servers whose label matches it (and the yardstick, which the ratios need).
server_add() {
	if [ -n "${ONLY:-}" ] && [ "$1" != yardstick ] &&
		! printf '%s\n' "$1" | grep -Eq -e "$ONLY"; then
		return 0
	fi
	server_count=$((server_count + 1))
	printf 's%d\t%s\t%s\t%s\t%s\n' "$server_count" "$1" "$2" "${3:-}" "${4:-}" >>"$work/servers.tsv"
}
server_count=0
: >"$work/servers.tsv"
: >"$work/runs.jsonl"
: >"$work/notes"
for entry in $forknets; do
	label=${entry%%=*} path=${entry#*=}
	models=$("$path" echo-server -m help 2>/dev/null | awk 'NF { print $1 }') ||
		{ say "$path echo-server -m help failed"; exit 1; }
	[ -n "$models" ] || { say "$path echo-server -m help lists no model"; exit 1; }
	for model in $models; do
		server_add "$label $model" forknet "$path" "$model"
	done
done
server_add "xinetd echo" xinetd
server_add "tcpserver cat" tcpserver
server_add "socat PIPE" socat PIPE
server_add "socat EXEC:cat" socat EXEC:cat
server_add "ncat --exec cat" ncat
server_add "yardstick" yardstick
yardstick_id=s$server_count
server_ids=$(cut -f1 "$work/servers.tsv")
reversed_ids=$(echo "$server_ids" | awk '{ line[NR] = $0 } END { for (i = NR; i > 0; i--) print line[i] }')

# xinetd's private /etc/hosts (see xinetd_launch), when this system allows one.
xinetd_hosts=${XINETD_HOSTS:-private}
case $xinetd_hosts in
private)
	if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 && unshare -m true 2>/dev/null; then
		{
			cat /etc/hosts
			echo "# echo-bench: bench's source addresses, for xinetd's getnameinfo()"
			awk 'BEGIN { for (i = 2; i <= 64; i++) printf "127.0.0.%d bench-source-%d\n", i, i }'
		} >"$work/hosts"
	else
		xinetd_hosts=system
		echo "xinetd: no private /etc/hosts (needs root and unshare -m): its children's reverse lookups of 127.0.0.2-64 go to DNS" >>"$work/notes"
	fi
	;;
system) ;;
*) usage_error "XINETD_HOSTS must be private or system, not '$xinetd_hosts'" ;;
esac

# --- the expected duration -----------------------------------------------------

# shellcheck disable=SC2086 # one concurrency a word
set -- $sweep
sweep_points=$#
idle_wait=$((10 + idle / 100)) # seconds for bench to report ready
[ "$idle_wait" -gt 120 ] && idle_wait=120
idle_hold=$((idle_wait + 30))
[ "$idle_hold" -lt 60 ] && idle_hold=60
# Each measurement costs about 1 s to start and stop a server; an idle one
# about 3 s plus 1 s per 500 connections (more where bench never gets ready).
main_seconds=$((server_count * rounds * (2 * (warmup + duration + 1) + 4 + idle / 500)))
check_seconds=$((2 * (warmup + duration + 1)))
sweep_seconds=$((server_count * (2 * sweep_points * (warmup + sweep_duration) + 1)))
if [ -z "${SWEEP_DURATION:-}" ] && [ $((main_seconds + check_seconds + sweep_seconds)) -gt "$budget" ]; then
	sweep_room=$(((budget - main_seconds - check_seconds) / (server_count * 2 * sweep_points) - warmup))
	[ "$sweep_room" -lt 1 ] && sweep_room=1
	if [ "$sweep_room" -lt "$sweep_duration" ]; then
		echo "sweep points cut from $sweep_duration s to $sweep_room s to keep the run near 25 minutes" >>"$work/notes"
		sweep_duration=$sweep_room
		sweep_seconds=$((server_count * (2 * sweep_points * (warmup + sweep_duration) + 1)))
	fi
fi
expected=$((main_seconds + check_seconds + sweep_seconds))
say "$server_count servers; expected duration about $((expected / 60)) min $((expected % 60)) s" \
	"(table $main_seconds s: $rounds rounds x conn, echo, idle; sweeps $sweep_seconds s:" \
	"$sweep_points points x 2 modes at ${sweep_duration} s; generator check $check_seconds s)"

# --- the machine -----------------------------------------------------------------

# Prints the version of peer TOOL: its Debian package's if dpkg knows it,
# otherwise the first line of what TOOL ARGS... prints.
peer_version() {
	version_package=$1
	shift
	if command -v dpkg-query >/dev/null 2>&1 &&
		version=$(dpkg-query -W -f '${Version}' "$version_package" 2>/dev/null) && [ -n "$version" ]; then
		echo "$version_package $version"
	else
		"$@" 2>&1 | sed -n '/./{p;q;}'
	fi
}

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
cpus=$(nproc)
ram_gib=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
# shellcheck disable=SC3045
jq -n --arg uname "$(uname -srm)" --arg cpu "${cpu_model:-unknown}" --argjson cpus "$cpus" \
	--arg ram "$ram_gib GiB" --arg date "$date_utc" \
	--arg forknet "$("$generator" --version 2>&1 | head -n 1)" \
	--arg xinetd "$(peer_version xinetd xinetd -version)" \
	--arg tcpserver "$(peer_version ucspi-tcp tcpserver)" \
	--arg socat "$(peer_version socat socat -V)" \
	--arg ncat "$(peer_version ncat ncat --version)" \
	--arg gnuplot "$(gnuplot --version)" --arg ulimit "$(ulimit -n)" \
	'{uname: $uname, cpu: $cpu, cpus: $cpus, ram: $ram, date: $date, ulimit_n: $ulimit,
	  versions: {forknet: $forknet, xinetd: $xinetd, tcpserver: $tcpserver,
	             socat: $socat, ncat: $ncat, gnuplot: $gnuplot}}' >"$work/machine.json"

# --- the run ---------------------------------------------------------------------

round=1
while [ "$round" -le "$rounds" ]; do
	order=$server_ids
	[ $((round % 2)) -eq 0 ] && order=$reversed_ids
	say "round $round of $rounds"
	for id in $order; do
		for load in conn echo idle; do
			measure "$id" "$load" "$round"
		done
	done
	round=$((round + 1))
done
say "sweeps: $sweep_points concurrencies, ${sweep_duration} s each"
for id in $server_ids; do
	sweep_server "$id"
done
say "generator check"
generator_check

# --- the results -----------------------------------------------------------------

jq -n --argjson duration "$duration" --argjson warmup "$warmup" --argjson rounds "$rounds" \
	--argjson sweep_duration "$sweep_duration" --argjson idle "$idle" \
	--argjson hz "$(getconf CLK_TCK)" --arg sweep "$sweep" --arg xinetd_hosts "$xinetd_hosts" \
	--argjson max_children "$max_children" --arg generator "$generator" \
	--argjson elapsed $(($(date +%s) - started)) \
	'{duration: $duration, warmup: $warmup, rounds: $rounds, sweep_duration: $sweep_duration,
	  idle: $idle, hz: $hz, sweep: ($sweep | split(" ") | map(select(. != "") | tonumber)),
	  xinetd_hosts: $xinetd_hosts, max_children: $max_children, generator: $generator,
	  elapsed_seconds: $elapsed}' >"$work/settings.json"
jq -R -s '[split("\n")[] | select(. != "") | split("\t") | {id: .[0], label: .[1], kind: .[2]}]' \
	"$work/servers.tsv" >"$work/servers.json"
jq -R -s 'split("\n") | map(select(. != ""))' "$work/notes" >"$work/notes.json"

# summary.jq: from the run records to the results object (echo-results.json).
cat >"$work/summary.jq" <<'EOF'
def median: sort | length as $n
  | if $n == 0 then null elif $n % 2 == 1 then .[($n - 1) / 2]
    else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;
def errors_total: .bench.errors.total // 0;
# "timeout 3, reset 1": the kinds of errors a run counted.
def error_kinds: (.bench.errors // {}) | to_entries
  | map(select(.key != "total" and (.value | type) == "number" and .value > 0)
        | "\(.key) \(.value)") | join(", ");
def runs_of($id; $load): [$runs[] | select(.server == $id and .load == $load)];
# The run a rate is taken from: the fastest without errors, else the fastest.
def best: map(select(.bench != null and .failed == null))
  | (map(select(errors_total == 0)) | max_by(.bench.ops_per_second))
    // max_by(.bench.ops_per_second);
# Machine CPU per operation, in µs, over the sampled interval.
def per_operation: if .jiffies != null and .bench.ops_per_second > 0 and .seconds > 0
  then .jiffies * 1000000 / $settings.hz / (.bench.ops_per_second * .seconds) else null end;
def rate_figures: if . == null then {}
  else {rate: .bench.ops_per_second, p99_us: .bench.latency_us.p99,
        cpu_us_per_op: per_operation, gen_cpu_percent: .bench.cpu_percent,
        errors: errors_total, round: .round} end;
def ratio($a; $b): if $a != null and $b != null and $b != 0 then $a / $b else null end;
def row($s):
  runs_of($s.id; "conn") as $conn | runs_of($s.id; "echo") as $echo
  | runs_of($s.id; "idle") as $idle | ($conn + $echo + $idle) as $all
  | ($conn | best | rate_figures) as $c | ($echo | best | rate_figures) as $e
  | [$idle[] | select(.pss_held_kib != null)] as $held
  | {label: $s.label, kind: $s.kind,
     conn_s: $c.rate, conn_p99_us: $c.p99_us, msgs_s: $e.rate, echo_p99_us: $e.p99_us,
     cpu_us_per_conn: $c.cpu_us_per_op, cpu_us_per_msg: $e.cpu_us_per_op,
     pss_kib_per_idle: ([$held[] | (.pss_held_kib - .pss_base_kib) / .idle] | median),
     processes_at_idle: ([$held[] | .processes_held] | median),
     gen_cpu_percent_conn: $c.gen_cpu_percent, gen_cpu_percent_echo: $e.gen_cpu_percent,
     errors: ([$all[] | errors_total] | add // 0),
     marked: {conn: (($c.errors // 0) > 0), echo: (($e.errors // 0) > 0),
              idle: (([$held[] | errors_total] | add // 0) > 0)},
     rounds_used: {conn: $c.round, echo: $e.round},
     started: (([$all[] | select(.bench != null)] | length) > 0),
     failures: [$all[] | select(.failed != null) | "\(.load) round \(.round): \(.failed)"],
     problems: [$all[] | select(errors_total > 0)
                | "\(.load) round \(.round): \(errors_total) errors (\(error_kinds))"]};
def sweep($mode): [$servers[] as $s | {label: $s.label, points: [$settings.sweep[] as $c
  | (runs_of($s.id; "sweep-" + $mode) | map(select(.concurrency == $c)) | .[0]) as $r
  | select($r != null)
  | {concurrency: $c, rate: $r.bench.ops_per_second, p99_us: $r.bench.latency_us.p99,
     errors: ($r | errors_total), kinds: ($r | error_kinds), failed: $r.failed}]}];
[$servers[] as $s | row($s)] as $rows
| ($rows | map(select(.kind == "yardstick")) | .[0]) as $ys
| ([$runs[] | select(.load == "j2")] | .[0]) as $j2
| [$runs[] | select(.load == "half")] as $halves
| (if ($halves | length) == 2 and all($halves[]; .bench != null)
   then [$halves[] | .bench.ops_per_second] | add else null end) as $sum
| {machine: $machine, settings: $settings, notes: $notes,
   servers: [$rows[] | . + {conn_ratio: ratio(.conn_s; $ys.conn_s),
                             msgs_ratio: ratio(.msgs_s; $ys.msgs_s),
                             pss_ratio: (if ($ys.pss_kib_per_idle // 0) >= 1
                                         then ratio(.pss_kib_per_idle; $ys.pss_kib_per_idle) else null end)}],
   sweeps: {conn: sweep("conn"), echo: sweep("echo")},
   generator_check: {j2_conn_s: $j2.bench.ops_per_second,
     halves_conn_s: [$halves[] | .bench.ops_per_second], halves_sum: $sum,
     ratio: ratio($j2.bench.ops_per_second; $sum),
     verdict: (ratio($j2.bench.ops_per_second; $sum) as $q
               | if $q == null then "n/a" elif $q >= 0.9 and $q <= 1.1 then "PASS" else "MISS" end),
     errors: ([$j2, $halves[] | select(. != null) | errors_total] | add // 0),
     gen_cpu_percent: {j2: $j2.bench.cpu_percent, halves: [$halves[] | .bench.cpu_percent]},
     failed: [$j2, $halves[] | select(. != null and .failed != null) | .failed]},
   runs: $runs}
EOF

# report.jq: the text tables of echo-results.txt from echo-results.json.
cat >"$work/report.jq" <<'EOF'
def fixed($d): if . == null then "-" elif . < 0 then "-" + (-. | fixed($d))
  else (. * pow(10; $d) | round) as $n
  | if $d == 0 then $n | tostring
    else (($n / pow(10; $d)) | floor | tostring) + "."
         + ((($n % pow(10; $d)) + pow(10; $d)) | tostring | .[1:]) end end;
def right($w): tostring | (" " * ($w - length)) + .;
def left($w): tostring | . + (" " * ($w - length));
def cell($v; $d; $mark; $w): (if $v == null then "-" else ($v | fixed($d)) + (if $mark then "*" else "" end) end) | right($w);
def line($cells): $cells | join("");
# "  ----- TITLE -----", WIDTH characters.
def banner($title; $width): ($width - ($title | length) - 4) as $dashes
  | "  " + ("-" * ($dashes / 2 | floor)) + " " + $title + " " + ("-" * ($dashes - ($dashes / 2 | floor)));
.settings as $set
| ([.servers[] | .label | length] | max + 2) as $w
| "Main table: conn and echo at 50 connections, 64-byte messages; best of \($set.rounds) round(s) of \($set.duration) s (warmup \($set.warmup) s); idle: \($set.idle) connections, median of rounds.",
  "",
  line([("" | left($w)), banner("conn mode, c=50"; 41), banner("echo mode, c=50, depth 1"; 41),
        banner("idle"; 25)]),
  line([("server" | left($w)), ("conn/s" | right(10)), ("×ys" | right(7)), ("p99 µs" | right(9)),
        ("µs/conn" | right(9)), ("gen%" | right(6)), ("msgs/s" | right(11)), ("×ys" | right(7)),
        ("p99 µs" | right(9)), ("µs/msg" | right(8)), ("gen%" | right(6)),
        ("KiB/conn" | right(10)), ("×ys" | right(8)), ("procs" | right(7)), ("errors" | right(8))]),
  (.servers[] |
   if .started | not then line([(.label | left($w)), "  failed to start (below)"])
   else line([(.label | left($w)),
     cell(.conn_s; 0; .marked.conn; 10), cell(.conn_ratio; 2; false; 7),
     cell(.conn_p99_us; 0; .marked.conn; 9), cell(.cpu_us_per_conn; 1; .marked.conn; 9),
     cell(.gen_cpu_percent_conn; 0; false; 6),
     cell(.msgs_s; 0; .marked.echo; 11), cell(.msgs_ratio; 2; false; 7),
     cell(.echo_p99_us; 0; .marked.echo; 9), cell(.cpu_us_per_msg; 2; .marked.echo; 8),
     cell(.gen_cpu_percent_echo; 0; false; 6),
     cell(.pss_kib_per_idle; 1; .marked.idle; 10), cell(.pss_ratio; 1; false; 8),
     cell(.processes_at_idle; 0; false; 7), (.errors | tostring | right(8))]) end),
  "",
  "conn/s, msgs/s: operations per second; ×ys: ratio to the yardstick; p99 µs: 99th percentile latency",
  "(conn: socket() to the last byte back; echo: per message); µs/conn, µs/msg: the machine's CPU time",
  "(/proc/stat, all CPUs, not idle) per operation over the measured interval, the generator's included;",
  "gen%: forknet bench's own CPU, % of one core (near 100: the generator was the limit);",
  "KiB/conn: Pss of the server's whole process tree per idle connection, (held - before) / \($set.idle)",
  "(user memory only: the kernel's socket buffers are not in Pss; ×ys only when the yardstick's is 1 KiB or more);",
  "procs: processes in that tree with the connections held; *: from a run that counted errors.",
  "",
  ([.servers[] | .label as $l | (.failures[], .problems[]) | "  \($l), \(.)"]) as $issues
  | if ($issues | length) == 0 then "Errors and failures: none." else "Errors and failures:", $issues[] end
EOF

# sweeps.jq: the sweep tables, the generator check and the notes.
cat >"$work/sweeps.jq" <<'EOF'
def fixed0: if . == null then "-" else round | tostring end;
def right($w): tostring | (" " * ($w - length)) + .;
def left($w): tostring | . + (" " * ($w - length));
def table($mode; $title):
  ([.servers[] | .label | length] | max + 2) as $w
  | $title,
  ([("server" | left($w))] + [.settings.sweep[] | "c=\(.)" | right(9)] | join("")),
  (.sweeps[$mode][] | . as $s
   | ([(.label | left($w))] + [$s.points as $p | $p[] |
        (if .failed != null and .rate == null then "fail"
         else (.rate | fixed0) + (if .errors > 0 then "*" else "" end) end) | right(9)]
      | join(""))),
  "";
.settings as $set
| "Sweeps: one round, \($set.sweep_duration) s per point after a \($set.warmup) s warmup, 64-byte messages; each server started once for both sweeps.",
  "*: the run counted errors (listed below); fail: no result.", "",
  table("conn"; "connections/s against concurrency (conn mode)"),
  table("echo"; "messages/s against concurrency (echo mode, depth 1)"),
  ([.sweeps | to_entries[] | .key as $m | .value[] | .label as $l | .points[]
    | select(.errors > 0 or .failed != null)
    | "  \($l), \($m) c=\(.concurrency): " + (if .failed != null then .failed else "\(.errors) errors (\(.kinds))" end)]) as $issues
  | (if ($issues | length) == 0 then "Sweep errors and failures: none." else "Sweep errors and failures:", $issues[] end),
  "",
  (.generator_check as $g
   | "Generator check (conn mode, c=50, \($set.duration) s, against the yardstick):",
     "  bench -j 2 -c 50:                \($g.j2_conn_s | fixed0) conn/s (bench cpu \($g.gen_cpu_percent.j2 // "-")% of one core)",
     "  two benches at once, -c 25 each: \($g.halves_sum | fixed0) conn/s (\([$g.halves_conn_s[] | fixed0] | join(" + ")); cpu \([$g.gen_cpu_percent.halves[] | tostring + "%"] | join(", ")))",
     "  ratio \(if $g.ratio == null then "-" else ($g.ratio * 1000 | round / 1000 | tostring) end): \($g.verdict) (within 10 % required)"
       + (if $g.errors > 0 then ", \($g.errors) errors counted" else "" end),
     ($g.failed[] | "  " + .)),
  "",
  "Notes:",
  "- Rates are the best of the rounds (the fastest run without errors, else the fastest): on a shared",
  "  machine interference only ever slows a run down. p99, CPU per operation and gen% come from that",
  "  same run. Pss is the median of the rounds. Every measurement of the main table starts the server",
  "  afresh; odd rounds take the servers in order, even rounds in reverse.",
  "- Generator and servers share the machine's \(.machine.cpus) CPUs: a server's figure also measures how",
  "  much CPU the generator leaves it.",
  ([.servers[] | select((.gen_cpu_percent_conn // 0) >= 90 or (.gen_cpu_percent_echo // 0) >= 90)
    | .label] as $bound
   | if ($bound | length) > 0 then "- The generator used 90 % or more of a core (it was likely the limit) for: \($bound | join(", "))." else empty end),
  (if $set.xinetd_hosts == "private" then
     "- xinetd's children call getnameinfo() on the client address (for their ps title); bench connects",
     "  from 127.0.0.1-64, so xinetd ran in a private mount namespace whose /etc/hosts names them, rather",
     "  than wait for DNS (XINETD_HOSTS=system measures it against the system's resolver)."
   else empty end),
  ("- forknet servers run with -q -c \($set.max_children); tcpserver -c 100000 -b 1024 -H -R -l 0; socat backlog=1024;",
   "  ncat -n -k --max-conns \($set.max_children); xinetd: instances, per_source UNLIMITED, cps 100000 1, no logging."),
  (.notes[] | "- " + .),
  "- Whole run: \($set.elapsed_seconds / 60 | floor) min \($set.elapsed_seconds % 60) s."
EOF

jq -n --slurpfile runs "$work/runs.jsonl" --argjson servers "$(cat "$work/servers.json")" \
	--argjson settings "$(cat "$work/settings.json")" --argjson machine "$(cat "$work/machine.json")" \
	--argjson notes "$(cat "$work/notes.json")" \
	-f "$work/summary.jq" >"$out/echo-results.json.tmp" 2>"$work/jq.err" ||
	{ say "summarising the runs failed: $(cat "$work/jq.err")"; exit 1; }
mv "$out/echo-results.json.tmp" "$out/echo-results.json"
results=$out/echo-results.json

jq -r '["label", "conn_s", "conn_p99_us", "msgs_s", "echo_p99_us", "cpu_us_per_conn",
	"cpu_us_per_msg", "pss_kib_per_idle", "gen_cpu_percent_conn", "gen_cpu_percent_echo", "errors"],
	(.servers[] | [.label, .conn_s, .conn_p99_us, .msgs_s, .echo_p99_us,
	(.cpu_us_per_conn, .cpu_us_per_msg, .pss_kib_per_idle
	 | if . == null then null else . * 100 | round / 100 end),
	.gen_cpu_percent_conn, .gen_cpu_percent_echo, .errors])
	| @csv' "$results" >"$out/echo-results.csv"
jq -r '["label", "mode", "concurrency", "ops_s", "p99_us", "errors"],
	(.sweeps | to_entries[] | .key as $m | .value[] | .label as $l | .points[]
	| [$l, $m, .concurrency, .rate, .p99_us, .errors]) | @csv' "$results" >"$out/echo-sweep.csv"

# echo-sweep.dat: one gnuplot block per mode and server that has points
# (concurrency, rate, errors); plots.tsv names each block: mode, index, label.
jq -r '[.sweeps | to_entries[] | .key as $m | .value[]
	| {mode: $m, label: .label, points: [.points[] | select(.rate != null)]} | select(.points | length > 0)]
	| .[] | "# \(.mode): \(.label)", (.points[] | "\(.concurrency) \(.rate) \(.errors)"), "", ""' \
	"$results" >"$out/echo-sweep.dat"
jq -r '[.sweeps | to_entries[] | .key as $m | .value[]
	| {mode: $m, label: .label, points: [.points[] | select(.rate != null)]} | select(.points | length > 0)]
	| to_entries[] | "\(.value.mode)\t\(.key)\t\(.value.label)"' "$results" >"$work/plots.tsv"

# Draws OUT/echo-MODE.png from echo-sweep.dat: MODE (conn or msgs), the mode
# in the data (conn or echo) and the y axis label.
plot() {
	plot_file=$work/plot-$1.gp
	if ! grep -q "^$2$tab" "$work/plots.tsv"; then
		say "no sweep results in $2 mode: echo-$1.png not drawn"
		return 0
	fi
	{
		echo "set terminal pngcairo size 1000,650 noenhanced font 'DejaVu Sans,10'"
		echo "set output '$out/echo-$1.png'"
		printf 'set title "forknet bench, 64-byte messages, loopback: %s against concurrency\\n%s CPUs (%s), %s; open marker: that run counted errors"\n' \
			"$3" "$cpus" "$cpu_model" "$date_utc"
		echo "set xlabel 'concurrent connections'"
		echo "set ylabel '$3'"
		echo "set logscale x"
		echo "set xrange [$plot_min:$plot_max]"
		echo "set xtics ($plot_tics)"
		echo "set yrange [0:*]"
		echo "set format y '%.0f'"
		echo "set grid"
		echo "set key outside right top"
		printf 'plot '
		plot_n=0
		while IFS=$tab read -r plot_mode plot_index plot_label; do
			[ "$plot_mode" = "$2" ] || continue
			plot_color=$(echo "#1f77b4 #d62728 #2ca02c #ff7f0e #9467bd #8c564b #e377c2 #17becf #7f7f7f #bcbd22 #000080 #808000" |
				awk -v n=$((plot_n % 12 + 1)) '{ print $n }')
			plot_solid=$(echo "7 5 9 11 13" | awk -v n=$((plot_n % 5 + 1)) '{ print $n }')
			plot_open=$((plot_solid - 1))
			printf "'%s' index %s using 1:2 with lines lw 1.5 lc rgb '%s' notitle, " \
				"$out/echo-sweep.dat" "$plot_index" "$plot_color"
			printf "'' index %s using 1:(\$3 == 0 ? \$2 : 1/0) with linespoints lw 1.5 pt %s ps 1.3 lc rgb '%s' title '%s', " \
				"$plot_index" "$plot_solid" "$plot_color" "$plot_label"
			printf "'' index %s using 1:(\$3 > 0 ? \$2 : 1/0) with points pt %s ps 1.3 lc rgb '%s' notitle, " \
				"$plot_index" "$plot_open" "$plot_color"
			plot_n=$((plot_n + 1))
		done <"$work/plots.tsv"
		echo "NaN with points pt 6 ps 1.3 lc rgb 'black' title 'open: run with errors'"
	} >"$plot_file"
	gnuplot "$plot_file" 2>"$work/gnuplot.err" || say "gnuplot failed for echo-$1.png: $(cat "$work/gnuplot.err")"
}
plot_min=$(echo "$sweep" | awk '{ m = $1; for (i = 2; i <= NF; i++) if ($i < m) m = $i; print m / 1.25 }')
plot_max=$(echo "$sweep" | awk '{ m = $1; for (i = 2; i <= NF; i++) if ($i > m) m = $i; print m * 1.25 }')
plot_tics=$(echo "$sweep" | awk '{ for (i = 1; i <= NF; i++) printf "%s%s", (i > 1 ? ", " : ""), $i }')
plot conn conn "connections/s"
plot msgs echo "messages/s"

{
	jq -r '.machine | "forknet echo benchmark, \(.date)",
		"machine: \(.uname); \(.cpu); \(.cpus) CPUs; \(.ram) RAM; ulimit -n \(.ulimit_n)",
		"versions: \(.versions | [.[]] | join("; "))", ""' "$results"
	jq -r -f "$work/report.jq" "$results"
	echo
	jq -r -f "$work/sweeps.jq" "$results"
} >"$out/echo-results.txt"
cat "$out/echo-results.txt"
say "results in $out: echo-results.txt .csv .json, echo-sweep.csv .dat, echo-conn.png, echo-msgs.png"
