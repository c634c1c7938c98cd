#!/bin/sh
# shell-bench.sh: what one external command costs in forknet shell, dash and
# bash, in one run.
#
# Each shell reads the same script from a file: COMMANDS lines of /bin/true
# (a path, so that no shell can use a builtin). Each shell runs it ROUNDS
# times, the shells taking turns so that a noisy moment hits them all. The
# script prints every run's wall-clock time and, per shell, the best and the
# median time per command in microseconds. The fork, exec and wait of each
# command are what is measured; the shells' own start is one line in
# thousands.
#
# Usage: bench/shell-bench.sh [BUILD]      (the build directory, default build)
# Environment: COMMANDS (default 2000), ROUNDS (default 5).
set -eu

build=${1:-build}
commands=${COMMANDS:-2000}
rounds=${ROUNDS:-5}
forknet=$build/forknet

for tool in "$forknet" dash bash; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "shell-bench: $tool: not found (make; apt-get install dash bash)" >&2
		exit 69
	fi
done

script=$(mktemp)
times=$(mktemp)
trap 'rm -f "$script" "$times"' EXIT
i=0
while [ "$i" -lt "$commands" ]; do
	echo /bin/true
	i=$((i + 1))
done >"$script"

# Nanoseconds since the epoch (GNU date).
now() { date +%s%N; }

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r)"
echo "script: $commands lines of /bin/true, $rounds rounds"
round=1
while [ "$round" -le "$rounds" ]; do
	for shell in forknet dash bash; do
		case $shell in
		forknet) set -- "$forknet" shell ;;
		*) set -- "$shell" ;;
		esac
		start=$(now)
		"$@" <"$script" >/dev/null
		end=$(now)
		ns=$((end - start))
		echo "$shell $ns" >>"$times"
		printf 'round %d  %-8s %6d ms\n' "$round" "$shell" $((ns / 1000000))
	done
	round=$((round + 1))
done

echo
printf '%-14s %12s %12s\n' shell "best µs/cmd" "median µs/cmd"
for shell in forknet dash bash; do
	sed -n "s/^$shell //p" "$times" | sort -n | awk -v n="$commands" -v name="$shell" '
		{ t[NR] = $1 }
		END {
			median = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
			label = (name == "forknet") ? "forknet shell" : name
			printf "%-14s %12.0f %12.0f\n", label, t[1] / n / 1000, median / n / 1000
		}'
done
