#!/bin/sh
# chat-bench.sh: the chat relay benchmark of issue 4, in one run.
#
# For M = 10 and M = 100 members it starts, in turn, a fresh
#   forknet chat-server --open --rate 0 --max-clients 200 -q -b 127.0.0.1 -p 0   (UDP)
#   ncat --broker --chat --max-conns 200 -l 127.0.0.1 0                          (TCP)
# and runs build/bench/chat_bench against it: the offered rate doubles until a
# step fails (>= 99.9 % delivered with p99 < 10 ms), then the gap is halved
# three times. It prints the table and the best rate per server and M, and
# writes, in OUT:
#   chat-relay.dat          every step, one block per server and M, for gnuplot
#   chat-relay.png          deliveries/s, p99 latency and server CPU per delivery
#                           against the offered rate
#   chat-relay-results.txt  the machine, the table and the best rates
# Every process it starts is stopped and reaped on exit, failure or signal.
#
# Usage: bench/chat-bench.sh [BUILD]      (the build directory, default build)
# Environment: OUT (default bench), DURATION (seconds per step, default 2),
#   SENDERS (default 10), MEMBERS (default "10 100").
set -eu

build=${1:-build}
out=${OUT:-bench}
duration=${DURATION:-2}
senders=${SENDERS:-10}
member_counts=${MEMBERS:-"10 100"}
forknet=$build/forknet
bench=$build/bench/chat_bench

for tool in "$forknet" "$bench"; do
	[ -x "$tool" ] || { echo "chat-bench: $tool is missing: run make bench-chat" >&2; exit 69; }
done
for tool in ncat gnuplot; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "chat-bench: $tool is missing: run tests/install-deps bench" >&2; exit 69; }
done

work=$(mktemp -d)
server_pid=""
bench_pid=""

# Stops and reaps what runs now: the benchmark, then the server.
stop_all() {
	for pid in $bench_pid $server_pid; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	bench_pid=""
	server_pid=""
}
trap 'stop_all; rm -rf "$work"' EXIT
# A signal ends the script; the EXIT trap then stops everything.
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "chat-bench: $*" >&2
	[ -s "$work/server.log" ] && sed 's/^/  server: /' "$work/server.log" >&2
	exit 1
}

# Polls (every 20 ms, for at most 5 s) until forknet logs its port; sets port.
wait_for_forknet_port() {
	tries=0
	port=""
	while [ -z "$port" ]; do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/server.log")
		[ -n "$port" ] && return 0
		kill -0 "$server_pid" 2>/dev/null || fail "forknet chat-server exited at start"
		tries=$((tries + 1))
		[ "$tries" -lt 250 ] || fail "no 'listening on' line from forknet within 5 s"
		sleep 0.02
	done
}

start_server() { # KIND
	: >"$work/server.log"
	if [ "$1" = forknet ]; then
		"$forknet" chat-server --open --rate 0 --max-clients 200 -q -b 127.0.0.1 -p 0 \
			</dev/null 2>"$work/server.log" &
		server_pid=$!
		wait_for_forknet_port
	else
		# Port 0: the kernel picks a free one; chat_bench reads it from /proc.
		ncat --broker --chat --max-conns 200 -l 127.0.0.1 0 </dev/null 2>"$work/server.log" &
		server_pid=$!
		port=$("$bench" --port-of "$server_pid") || fail "ncat is not listening"
	fi
}

run_one() { # KIND M
	kind=$1
	members=$2
	sending=$senders
	[ "$sending" -le "$members" ] || sending=$members
	# The first step offers about 10 000 deliveries a second.
	start=$((10000 / members))
	start_server "$kind"
	if [ "$kind" = forknet ]; then protocol=udp; else protocol=tcp; fi
	echo "chat-bench: $kind, M=$members, S=$sending, port $port, pid $server_pid" >&2
	"$bench" --kind "$protocol" --port "$port" --pid "$server_pid" --members "$members" \
		--senders "$sending" --search "$start" --duration "$duration" --label "$kind" \
		>"$work/run-$kind-$members" &
	bench_pid=$!
	status=0
	wait "$bench_pid" || status=$?
	bench_pid=""
	cat "$work/run-$kind-$members"
	[ "$status" -eq 0 ] || fail "chat_bench against $kind (M=$members) exited with status $status"
	kill -0 "$server_pid" 2>/dev/null || fail "$kind died during the run"
	stop_all
}

mkdir -p "$out"
began=$(date +%s)
load=$(cut -d' ' -f1-3 /proc/loadavg)
for members in $member_counts; do
	for kind in forknet ncat; do
		run_one "$kind" "$members"
	done
done
took=$(($(date +%s) - began))

# The data file: the rows of each run sorted by offered rate, one gnuplot block each.
data=$out/chat-relay.dat
{
	grep -m1 '^# kind' "$work/run-forknet-$(echo "$member_counts" | cut -d' ' -f1)"
	for members in $member_counts; do
		for kind in forknet ncat; do
			echo "# $kind M=$members"
			grep -v '^#' "$work/run-$kind-$members" | sort -n -k4
			printf '\n\n'
		done
	done
} >"$data"

# Best passing rate per server and M, with its CPU per delivery.
summary=$(awk '
	/^#/ || NF < 22 { next }
	$22 ~ /^pass/ {
		key = $1 " M=" $2
		if ($4 > best[key]) { best[key] = $4; cpu[key] = $11; all[key] = $12 }
	}
	{ seen[$1 " M=" $2] = 1 }
	END {
		for (key in seen)
			printf "best %-14s %6d messages/s; per delivery there: server %s us, server + benchmark %s us\n",
				key, best[key], (key in cpu) ? cpu[key] : "-", (key in all) ? all[key] : "-"
	}
' "$data" | sort -t= -k2n)
largest=$(echo "$member_counts" | tr ' ' '\n' | tail -n 1)
verdict=$(awk -v m="$largest" '
	/^#/ || NF < 22 || $2 != m || $22 !~ /^pass/ { next }
	{
		if ($4 > best[$1]) { best[$1] = $4; cpu[$1] = $11; all[$1] = $12 }
		passed[$1, $4] = 1; rate_cpu[$1, $4] = $11; rate_all[$1, $4] = $12
		if ($1 == "forknet") rates[$4] = 1
	}
	END {
		if (!("ncat" in best) || !("forknet" in best)) { print "no comparison: a server passed no step"; exit }
		ratio = best["forknet"] / best["ncat"]
		printf "M=%d: forknet %d / ncat %d messages/s = %.2fx (goal 1.5x: %s)\n",
			m, best["forknet"], best["ncat"], ratio,
			(ratio >= 1.5) ? "met" : sprintf("missed by %.0f %%", (1.5 - ratio) / 1.5 * 100)
		printf "M=%d: CPU per delivery at those rates: server %.3f vs %.3f us (%s), server + benchmark %.3f vs %.3f us (%s)\n",
			m, cpu["forknet"], cpu["ncat"], (cpu["forknet"] < cpu["ncat"]) ? "lower" : "not lower",
			all["forknet"], all["ncat"], (all["forknet"] < all["ncat"]) ? "lower" : "not lower"
		# The same comparison at one rate: the highest that both passed.
		common = 0
		for (rate in rates)
			if (("ncat", rate) in passed && rate + 0 > common) common = rate + 0
		if (common > 0)
			printf "M=%d: at %d messages/s, which both passed: server %.3f vs %.3f us, server + benchmark %.3f vs %.3f us\n",
				m, common, rate_cpu["forknet", common], rate_cpu["ncat", common],
				rate_all["forknet", common], rate_all["ncat", common]
	}
' "$data")

# The plot: one column per M; deliveries/s, p99 and CPU per delivery against offered messages/s.
plot_lines() { # COLUMN M [TITLE-SUFFIX [STYLE]]
	index=0
	lines=""
	for members in $member_counts; do
		for kind in forknet ncat; do
			if [ "$members" = "$2" ]; then
				[ -z "$lines" ] || lines="$lines, "
				if [ "$kind" = forknet ]; then color='#9400d3'; else color='#009e73'; fi
				lines="$lines'$data' index $index using 4:$1 with linespoints lc rgb '$color' ${4:-} title '$kind${3:-}'"
			fi
			index=$((index + 1))
		done
	done
	echo "$lines"
}
{
	columns=$(echo "$member_counts" | wc -w)
	echo "set terminal pngcairo size $((560 * columns)),1200 font 'sans,10'"
	echo "set output '$out/chat-relay.png'"
	echo "set multiplot layout 3,$columns title 'chat relay, loopback, $(nproc) CPUs: forknet chat-server (UDP) vs ncat --broker --chat (TCP)'"
	echo "set grid; set key top left; set logscale x 2; set xlabel 'offered messages/s'"
	echo "set format x '%.0f'"
	for members in $member_counts; do
		echo "set title 'M = $members: deliveries per second'; set ylabel 'deliveries/s'; unset logscale y"
		echo "plot $(plot_lines 6 "$members"), x * ($members - 1) with lines dashtype 2 lc 'gray' title 'all'"
	done
	for members in $member_counts; do
		echo "set title 'M = $members: p99 latency'; set ylabel 'p99 latency (us)'; set logscale y"
		echo "plot $(plot_lines 9 "$members"), 10000 with lines dashtype 2 lc 'red' title '10 ms'"
	done
	for members in $member_counts; do
		echo "set title 'M = $members: CPU per delivery'; set ylabel 'CPU us per delivery'; unset logscale y; set yrange [0:*]; set key top right"
		echo "plot $(plot_lines 11 "$members"), $(plot_lines 12 "$members" ' + benchmark' 'dashtype 2')"
		echo "set autoscale y"
	done
	echo "unset multiplot"
} >"$work/plot.gp"
gnuplot "$work/plot.gp" || fail "gnuplot failed"

# The results file: the machine, the table, the best rates.
results=$out/chat-relay-results.txt
{
	echo "# chat relay benchmark (bench/chat-bench.sh), $(date -u '+%Y-%m-%d %H:%M UTC'), ${took} s"
	echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs" \
		"($(lscpu | sed -n 's/^Hypervisor vendor: *//p' | sed 's/^\(..*\)$/virtual, \1/')), kernel $(uname -r)"
	echo "# load average before the run: $load"
	echo "# $(ncat --version 2>&1 | sed -n 's/^Ncat: Version \([^ ]*\).*/ncat \1/p'), $("$forknet" --version 2>/dev/null | head -n 1)"
	echo "# $duration s per step, $senders senders (at most M), 80-byte messages; columns as chat_bench prints them"
	grep -h '^# kind' "$data" | head -n 1
	grep -hv '^#' "$data" | grep -v '^$'
	echo
	echo "$summary"
	echo "$verdict"
} >"$results"

echo
echo "chat-bench: $took s; rows in $data, plot in $out/chat-relay.png, results in $results"
echo "$summary"
echo "$verdict"
