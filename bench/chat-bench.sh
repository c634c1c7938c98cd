#!/bin/sh
# chat-bench.sh: the chat relay benchmark of issue 4, in one run.
#
# For M = 10 and M = 100 members it starts, in turn, a fresh
#   forknet chat-server --open --rate 0 --max-clients 200 -q -b 127.0.0.1 -p 0   (UDP)
#   ncat --broker --chat --max-conns 200 -l 127.0.0.1 0                          (TCP)
# and runs build/bench/chat_bench against it: the offered rate doubles until a
# step fails (>= 99.9 % delivered with p99 < 10 ms), then the gap is halved
# three times. It prints the table and the best rate per server and M.
# Every process it starts is stopped and reaped on exit, failure or signal.
#
# Usage:
#   bench/chat-bench.sh [BUILD]          run the benchmark; BUILD is the build
#                                        directory (default build)
#   bench/chat-bench.sh --plot DAT [PNG] only redraw the plot from the rows in
#                                        DAT (default PNG: DAT with .png for .dat)
# Environment, for a run:
#   OUT       where the results go (default BUILD/bench-results, created if
#             missing); OUT=bench refreshes the committed copies
#   DURATION  seconds per step (default 2)
#   SENDERS   members that send (default 10, at most M)
#   MEMBERS   the values of M (default "10 100")
# Outputs, in OUT:
#   chat-relay.dat          the machine in its first line, then every step, one
#                           block per server and M, for gnuplot; column 22 is
#                           the verdict (pass, or fail:WHY)
#   chat-relay.png          deliveries/s, p99 latency and CPU per delivery against
#                           the offered rate, one column of panels per M; filled
#                           markers are steps that passed, open ones steps that failed
#   chat-relay-results.txt  the machine, the table and the best rates
# To redraw the committed plot after changing how it is drawn:
#   bench/chat-bench.sh --plot bench/chat-relay.dat
set -eu

# The two servers' colours, the same in every panel.
color_of() { # KIND
	if [ "$1" = forknet ]; then echo '#9400d3'; else echo '#009e73'; fi
}

# The blocks of a data file, one line each: gnuplot index, server, M.
# Each block opens with a line "# SERVER M=N" and ends with two blank lines.
blocks_of() { # DAT
	awk '/^# [a-z]+ M=[0-9]+$/ { sub("M=", "", $3); print index_count++, $2, $3 }' "$1"
}

# The number of CPUs of the machine that measured DAT: from its "# machine:"
# line, or from the results file beside it (older data files have no such line).
cpus_of() { # DAT
	for file in "$1" "$(dirname "$1")/chat-relay-results.txt"; do
		[ -r "$file" ] || continue
		count=$(sed -n 's/^# machine: .*, \([0-9][0-9]*\) CPUs.*/\1/p' "$file" | head -n 1)
		[ -z "$count" ] || { echo "$count"; return 0; }
	done
}

# The curves of one panel: for each server measured with M members, a line
# through every step with filled markers; over the steps that failed, a white
# disc and an open marker, so those markers show open. Each entry ends in ", ".
curves() { # DAT M COLUMN TITLE-SUFFIX DASHTYPE
	blocks_of "$1" | while read -r block kind members; do
		[ "$members" = "$2" ] || continue
		color=$(color_of "$kind")
		failed="(strcol(22) eq 'pass' ? NaN : column($3))"
		printf "'%s' index %s using 4:%s with linespoints lc rgb '%s' dt %s lw 1.5 pt 7 ps 1.1 title '%s%s', " \
			"$1" "$block" "$3" "$color" "$5" "$kind" "$4"
		printf "'' index %s using 4:%s with points lc rgb 'white' pt 7 ps 1.1 notitle, " "$block" "$failed"
		printf "'' index %s using 4:%s with points lc rgb '%s' pt 6 ps 1.1 lw 1.5 notitle, " \
			"$block" "$failed" "$color"
	done
}

# The key's last two entries: what a filled and an open marker mean.
marker_key="keyentry with points lc 'black' pt 7 ps 1.1 title 'step passed', \
keyentry with points lc 'black' pt 6 ps 1.1 lw 1.5 title 'step failed'"

# The x axis of one column: the offered rates of every server's steps with M
# members, a fifth of an octave of margin each side, tics at the doubling steps.
x_axis() { # DAT M
	awk -v m="$2" '
		/^#/ || NF < 22 || $2 != m { next }
		{
			if (low == "" || $4 < low) low = $4
			if ($4 > high) high = $4
		}
		END {
			if (low == "") exit
			printf "set xrange [%g:%g]; set xtics (", low / 1.15, high * 1.15
			for (rate = low; rate <= high * 1.001; rate *= 2)
				printf "%s%d", (rate == low) ? "" : ", ", rate
			print "); unset mxtics"
		}
	' "$1"
}

# The largest value in the given columns of the rows with M members, times
# FACTOR: the top of a y axis that leaves room for the key above the curves.
y_top() { # DAT M FACTOR COLUMN...
	file=$1
	m=$2
	factor=$3
	shift 3
	awk -v m="$m" -v factor="$factor" -v columns="$*" '
		/^#/ || NF < 22 || $2 != m { next }
		{
			count = split(columns, column, " ")
			for (i = 1; i <= count; i++)
				if ($column[i] > top) top = $column[i]
		}
		END { printf "%g\n", (top > 0) ? top * factor : 1 }
	' "$file"
}

# Writes the gnuplot script that draws PNG from DAT: a row of panels for
# deliveries/s, one for p99 latency and one for CPU per delivery, each against
# the offered messages/s, and one column per M.
plot_script() { # DAT PNG
	dat=$1
	member_list=$(blocks_of "$dat" | awk '!seen[$3]++ { print $3 }')
	columns=$(echo "$member_list" | wc -w)
	cpus=$(cpus_of "$dat")
	echo "set encoding utf8"
	echo "set terminal pngcairo noenhanced size $((560 * columns)),1260 font 'sans,10'"
	echo "set output '$2'"
	# The title in two lines, or in four where one column is too narrow for two.
	if [ "$columns" -gt 1 ]; then first=': ' second='; '; else first='\n' second='\n'; fi
	printf 'set multiplot layout 3,%s title "%s%s%s\\n%s%s%s"\n' "$columns" \
		"chat relay on loopback${cpus:+, $cpus CPUs}" "$first" \
		"forknet chat-server (UDP) vs ncat --broker --chat (TCP)" \
		"filled markers: steps that passed (≥ 99.9 % delivered intact, p99 < 10 ms)" "$second" \
		"open markers: steps that failed"
	echo "set grid; set logscale x 2; set xlabel 'offered messages/s'; set format x '%.0f'"
	echo "set format y '%.0f'; set key top left opaque box lc rgb 'grey80'"
	for members in $member_list; do
		x_axis "$dat" "$members"
		echo "set title 'M = $members: deliveries per second'; set ylabel 'deliveries/s'"
		echo "unset logscale y; set yrange [0:*]"
		echo "plot $(curves "$dat" "$members" 6 '' 1)" \
			"x * ($members - 1) with lines dt 2 lw 1.5 lc rgb 'grey50' title 'ideal: offered × (M−1)'," \
			"$marker_key"
	done
	for members in $member_list; do
		x_axis "$dat" "$members"
		echo "set title 'M = $members: p99 latency'; set ylabel 'p99 latency (µs)'"
		# A log axis from the decade below the lowest p99 to eight times the
		# highest p99 or the 10 ms line, whichever is higher: the key stays
		# clear of both.
		echo "set logscale y 10; set yrange [*:$(y_top "$dat" "$members" 1 9 | awk '{ print ($1 > 10000 ? $1 : 10000) * 8 }')]"
		echo "plot $(curves "$dat" "$members" 9 '' 1)" \
			"10000 with lines dt 2 lw 1.5 lc rgb 'red' title '10 ms: p99 pass limit'," \
			"$marker_key"
	done
	for members in $member_list; do
		x_axis "$dat" "$members"
		echo "set title 'M = $members: CPU per delivery'; set ylabel 'CPU µs per delivery'"
		echo "unset logscale y; set yrange [0:$(y_top "$dat" "$members" 1.6 11 12)]"
		echo "plot $(curves "$dat" "$members" 11 ': server' 1)" \
			"$(curves "$dat" "$members" 12 ': server + benchmark' 2)" \
			"$marker_key"
	done
	echo "unset multiplot"
}

# Draws PNG from DAT with gnuplot.
draw_plot() { # DAT PNG
	case $1$2 in
	*"'"* | *'"'*) echo "chat-bench: $1, $2: quotes in a file name are not supported" >&2; return 64 ;;
	esac
	[ -n "$(blocks_of "$1")" ] || { echo "chat-bench: $1: no '# SERVER M=N' blocks" >&2; return 65; }
	plot_script "$1" "$2" | gnuplot || { echo "chat-bench: gnuplot could not draw $2" >&2; return 70; }
}

# Only the plot: no server, no benchmark.
if [ "${1:-}" = --plot ]; then
	if [ $# -lt 2 ] || [ $# -gt 3 ]; then
		echo "usage: bench/chat-bench.sh --plot DAT [PNG]" >&2
		exit 64
	fi
	[ -r "$2" ] || { echo "chat-bench: $2: cannot read it" >&2; exit 66; }
	command -v gnuplot >/dev/null 2>&1 ||
		{ echo "chat-bench: gnuplot is missing: run tests/install-deps bench" >&2; exit 69; }
	png=${3:-${2%.dat}.png}
	draw_plot "$2" "$png"
	echo "chat-bench: plot of $2 in $png"
	exit 0
fi
case ${1:-} in
-*) echo "usage: bench/chat-bench.sh [BUILD] | --plot DAT [PNG]" >&2; exit 64 ;;
esac

build=${1:-build}
out=${OUT:-$build/bench-results}
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

mkdir -p "$out" || fail "cannot create $out"
machine="$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs"
machine="$machine ($(lscpu | sed -n 's/^Hypervisor vendor: *//p' | sed 's/^\(..*\)$/virtual, \1/')), kernel $(uname -r)"
began=$(date +%s)
load=$(cut -d' ' -f1-3 /proc/loadavg)
for members in $member_counts; do
	for kind in forknet ncat; do
		run_one "$kind" "$members"
	done
done
took=$(($(date +%s) - began))

# The data file: the machine, the column names, then the rows of each run
# sorted by offered rate, one gnuplot block each.
data=$out/chat-relay.dat
{
	echo "# machine: $machine"
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

draw_plot "$data" "$out/chat-relay.png" || fail "no plot"

# The results file: the machine, the table, the best rates.
results=$out/chat-relay-results.txt
{
	echo "# chat relay benchmark (bench/chat-bench.sh), $(date -u '+%Y-%m-%d %H:%M UTC'), ${took} s"
	echo "# machine: $machine"
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
