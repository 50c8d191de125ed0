#!/usr/bin/env bash
# Check disk space: reports each file system fuller than the thresholds (a getopts script).
#
# Usage: check_disk.sh [-w PERCENT] [-c PERCENT] [-H] [PATH]
# Exits 0 when all is well, 1 for a warning, 2 when a file system is critical (the usual
# convention of monitoring checks).
set -euo pipefail

# @param -w warn integer =80  Percent used from which a file system is a warning
# @param -c critical integer =90  Percent used from which it is critical
# @param -H human boolean  Sizes in K, M and G instead of 1024-byte blocks
# @param 1 path string =/  The file system holding this path; / by default

# What the script was given, exactly, before getopts consumes it.
given="$*"
warn=80
critical=90
human=0
while getopts "w:c:H" opt; do
    case $opt in
        w) warn=$OPTARG ;;
        c) critical=$OPTARG ;;
        H) human=1 ;;
        *) echo "usage: $0 [-w PERCENT] [-c PERCENT] [-H] [PATH]" >&2; exit 64 ;;
    esac
done
shift $((OPTIND - 1))
path=${1:-/}

for value in "$warn" "$critical"; do
    if [[ ! $value =~ ^[0-9]+$ ]] || ((value > 100)); then
        echo "a threshold is a whole percentage from 0 to 100, not '$value'" >&2
        exit 64
    fi
done

echo "argv: $given"
echo "thresholds: warning at ${warn}%, critical at ${critical}%, for $path"
units=-P
((human)) && units=-hP
status=0
# df -P: one line per file system, "Use%" in the fifth column, the mount point in the sixth.
while read -r source size _used available percent mount; do
    used_percent=${percent%\%}
    level=ok
    if ((used_percent >= critical)); then
        level=CRITICAL
        status=2
    elif ((used_percent >= warn)); then
        level=WARNING
        ((status < 1)) && status=1
    fi
    printf '%-8s %5s used  %8s of %8s free  %s (%s)\n' "$level" "$percent" "$available" "$size" "$mount" "$source"
done < <(df $units -- "$path" | tail -n +2)
exit $status
