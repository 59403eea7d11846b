#!/bin/sh
# fifo_run.sh SOURCE|- command args... : run the command with a fresh FIFO as its last
# argument; with a SOURCE file, a writer copies it into the FIFO, with - nobody writes.
src=$1
shift
f=$(mktemp -u) && mkfifo "$f" || exit 1
trap 'rm -f "$f"' EXIT
if [ "$src" != "-" ]; then
    cat "$src" > "$f" &
fi
"$@" "$f"
