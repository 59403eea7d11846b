#!/bin/sh
# Snapshot round trip through anyhv-run: run A saves the VM after N instructions and
# runs on; run B restores that file and runs. B must continue exactly as A did after
# the snapshot: the same exits in the same order with the same details (--trace), the
# same console output (B's is the tail of A's), the same exit status, and the same
# total of retired instructions.
#   snapshot_case.sh N -- anyhv-run args... IMAGE
n=$1
shift
[ "$1" = "--" ] && shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$@" --trace --snapshot-at "$n" "$tmp/snap" >"$tmp/a.out" 2>"$tmp/a.err" </dev/null
sa=$?
if [ "$sa" -eq 69 ]; then echo "Skipping: $(head -n 1 "$tmp/a.err")"; exit 77; fi
"$@" --trace --restore "$tmp/snap" >"$tmp/b.out" 2>"$tmp/b.err" </dev/null
sb=$?
fail=0
grep -q "snapshot at $n guest instructions saved" "$tmp/a.err" || { echo "FAIL: no snapshot taken"; fail=1; }
# A's exits after the snapshot line, and all of B's.
sed -n "/snapshot at $n guest instructions saved/,\$p" "$tmp/a.err" | grep '^\[exit\]' >"$tmp/a.exits"
grep '^\[exit\]' "$tmp/b.err" >"$tmp/b.exits"
[ -s "$tmp/b.exits" ] || { echo "FAIL: the restored run made no exits"; fail=1; }
cmp -s "$tmp/a.exits" "$tmp/b.exits" || { echo "FAIL: exit streams differ"; diff "$tmp/a.exits" "$tmp/b.exits" | head; fail=1; }
a_len=$(wc -c <"$tmp/a.out") b_len=$(wc -c <"$tmp/b.out")
tail -c "$b_len" "$tmp/a.out" | cmp -s - "$tmp/b.out" || { echo "FAIL: B's output is not the tail of A's"; fail=1; }
[ "$b_len" -lt "$a_len" ] || { echo "FAIL: B printed everything again ($b_len of $a_len bytes)"; fail=1; }
[ "$sa" -eq "$sb" ] || { echo "FAIL: exit status $sa, restored $sb"; fail=1; }
ia=$(grep -Eo '[0-9]+ guest instructions,' "$tmp/a.err") ib=$(grep -Eo '[0-9]+ guest instructions,' "$tmp/b.err")
[ -n "$ia" ] && [ "$ia" = "$ib" ] || { echo "FAIL: instructions retired: '$ia' vs restored '$ib'"; fail=1; }
echo "A: status $sa, $(wc -l <"$tmp/a.exits") exits after the snapshot, $ia; B: status $sb, $(wc -l <"$tmp/b.exits") exits, $ib"
exit $fail
