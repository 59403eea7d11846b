#!/bin/sh
# One gdb stub test: anyhv-run serves the GDB remote protocol, Debian's gdb-multiarch
# drives it with a batch script, and the test asserts on gdb's own output.
#   gdb_case.sh SCRIPT EXPECT ORACLE|- -- anyhv-run args... IMAGE
# SCRIPT is a gdb command file where @PORT@ stands for the stub's port. EXPECT lists
# extended regexes that must match lines of gdb's output, in that order; a line
# "@icount-delta N" requires the first two "instructions retired" values gdb printed
# to differ by exactly N (a stepi retires exactly one instruction), and "@icount I J D"
# requires the J-th value minus the I-th to be D. ORACLE, when given,
# is the guest's expected console output. Exits 77 (skipped) without gdb-multiarch.
script=$1 expect=$2 oracle=$3
shift 3
[ "$1" = "--" ] && shift
for last; do :; done   # the image: gdb reads its symbols
command -v gdb-multiarch >/dev/null || { echo "Skipping: gdb-multiarch is not installed (scripts/install-deps)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
try=0
while :; do
    port=$(( 20000 + ($$ * 7 + try * 131) % 40000 ))
    "$@" --gdb "$port" --gdb-wait >"$tmp/out" 2>"$tmp/err" </dev/null &
    pid=$!
    i=0
    while [ $i -lt 100 ] && ! grep -q "waiting for gdb\|cannot listen\|not available here" "$tmp/err" 2>/dev/null; do
        sleep 0.05; i=$((i + 1))
    done
    grep -q "cannot listen" "$tmp/err" || break
    wait $pid; try=$((try + 1))
    [ $try -lt 5 ] || { echo "FAIL: no free port"; cat "$tmp/err"; exit 1; }
done
# The backend cannot run here (the library says why): skipped, as run_case.sh does.
if grep -Eq "not available here|cannot run guest code yet" "$tmp/err"; then
    wait $pid
    echo "Skipping: $(grep -E 'not available here|cannot run guest code yet' "$tmp/err" | head -n1)"
    exit 77
fi
sed "s/@PORT@/$port/g" "$script" >"$tmp/script.gdb"
timeout 120 gdb-multiarch -nx -batch -x "$tmp/script.gdb" "$last" >"$tmp/gdb" 2>&1
wait $pid
status=$?
fail=0
rest="$tmp/gdb"
cp "$tmp/gdb" "$tmp/left"
while IFS= read -r re; do
    [ -z "$re" ] && continue
    case "$re" in
    @icount\ *)
        set -- ${re#@icount }
        got=$(grep -Eo "instructions retired: [0-9]+" "$tmp/gdb" | awk -v i="$1" -v j="$2" '{v[NR]=$3} END {print v[j]-v[i]}')
        [ "$got" = "$3" ] || { echo "FAIL: instructions retired, report $2 minus report $1: $got, expected $3"; fail=1; }
        continue ;;
    @icount-delta*)
        want=${re#@icount-delta }
        got=$(grep -Eo "instructions retired: [0-9]+" "$tmp/gdb" | head -n 2 | awk '{v[NR]=$3} END {print v[2]-v[1]}')
        [ "$got" = "$want" ] || { echo "FAIL: stepi retired $got instructions, expected $want"; fail=1; }
        continue ;;
    esac
    line=$(grep -En -- "$re" "$tmp/left" | head -n 1 | cut -d: -f1)
    if [ -z "$line" ]; then
        echo "FAIL: gdb output lacks /$re/ (after the earlier matches)"; fail=1
    else
        tail -n +"$((line + 1))" "$tmp/left" >"$tmp/next"; mv "$tmp/next" "$tmp/left"
    fi
done <"$expect"
if [ "$oracle" != "-" ] && ! cmp -s "$tmp/out" "$oracle"; then
    echo "FAIL: guest output differs from $oracle"; diff "$oracle" "$tmp/out" | head -n 10; fail=1
fi
[ "$status" -eq 0 ] || { echo "FAIL: anyhv-run exited $status"; fail=1; }
echo "--- gdb:"; cat "$tmp/gdb"; echo "--- anyhv-run stderr:"; cat "$tmp/err"
exit $fail
