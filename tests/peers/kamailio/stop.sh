#!/usr/bin/env bash
# stop.sh WORKDIR: stop the Kamailio that start.sh started from WORKDIR.
#
# Sends SIGTERM to Kamailio's process group (recorded in
# WORKDIR/kamailio.pgid), waits up to 10 s for every process of the group
# to exit, then SIGKILLs what is left.  Exits 0 if nothing is left running
# (also when it was not running), 1 otherwise.
set -uo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 WORKDIR" >&2
    exit 2
fi
work=$1
[ -f "$work/kamailio.pgid" ] || exit 0
pgid=$(cat "$work/kamailio.pgid")
case "$pgid" in ''|*[!0-9]*) echo "stop.sh: bad pgid '$pgid'" >&2; exit 1 ;; esac

if kill -TERM -- "-$pgid" 2>/dev/null; then
    for i in $(seq 100); do
        kill -0 -- "-$pgid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 -- "-$pgid" 2>/dev/null; then
        echo "stop.sh: Kamailio (pgid $pgid) ignored SIGTERM for 10 s; killing" >&2
        kill -KILL -- "-$pgid" 2>/dev/null
        sleep 0.2
    fi
fi
if kill -0 -- "-$pgid" 2>/dev/null; then
    echo "stop.sh: processes of group $pgid still alive" >&2
    exit 1
fi
rm -f "$work/kamailio.pgid"
exit 0
