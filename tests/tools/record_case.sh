#!/bin/sh
# Record and replay through anyhv-run: run A reads console input that arrives in two
# bursts 0.3 s apart (so what each of its polls saw depends on timing) under --record;
# run B replays that log with no input at all. B must repeat A exactly: the same
# output, the same exits in the same order (--trace), the same status and the same
# number of retired instructions and the same memory hashes at every exit and at the
# end (--hash-memory, 1/64 of RAM per exit), without a divergence message.
#   record_case.sh -- anyhv-run args... IMAGE
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(printf 'ab'; sleep 0.3; printf 'cd\nq') | "$@" --stats --trace --hash-memory 64 --record "$tmp/rec" >"$tmp/a.out" 2>"$tmp/a.err"
sa=$?
if [ "$sa" -eq 69 ]; then echo "Skipping: $(head -n 1 "$tmp/a.err")"; exit 77; fi
"$@" --stats --trace --hash-memory 64 --replay "$tmp/rec" >"$tmp/b.out" 2>"$tmp/b.err" </dev/null
sb=$?
fail=0
[ -s "$tmp/a.out" ] || { echo "FAIL: the recorded run printed nothing"; fail=1; }
[ -s "$tmp/rec.inputs" ] || { echo "FAIL: no library input log beside the console's"; fail=1; }
cmp -s "$tmp/a.out" "$tmp/b.out" || { echo "FAIL: outputs differ"; fail=1; }
grep '^\[exit\]' "$tmp/a.err" >"$tmp/a.exits"
grep '^\[exit\]' "$tmp/b.err" >"$tmp/b.exits"
cmp -s "$tmp/a.exits" "$tmp/b.exits" || { echo "FAIL: exit streams differ"; fail=1; }
grep '^\[hash\]' "$tmp/a.err" >"$tmp/a.hashes"
grep '^\[hash\]' "$tmp/b.err" >"$tmp/b.hashes"
grep -q '^\[hash\] end ' "$tmp/a.hashes" && [ "$(wc -l <"$tmp/a.hashes")" -gt "$(wc -l <"$tmp/a.exits")" ] ||
    { echo "FAIL: not a memory hash at every exit and at the end"; fail=1; }
cmp -s "$tmp/a.hashes" "$tmp/b.hashes" || { echo "FAIL: memory hashes differ"; diff "$tmp/a.hashes" "$tmp/b.hashes" | head -n 4; fail=1; }
[ "$sa" -eq "$sb" ] || { echo "FAIL: status $sa, replayed $sb"; fail=1; }
ia=$(grep -Eo '[0-9]+ guest instructions,' "$tmp/a.err") ib=$(grep -Eo '[0-9]+ guest instructions,' "$tmp/b.err")
[ -n "$ia" ] && [ "$ia" = "$ib" ] || { echo "FAIL: instructions '$ia' vs replayed '$ib'"; fail=1; }
grep -q "diverged" "$tmp/b.err" && { echo "FAIL: the replay reported a divergence"; fail=1; }
echo "recorded: status $sa, input log $(wc -c <"$tmp/rec.inputs") bytes, $ia $(wc -l <"$tmp/a.exits") exits, $(wc -l <"$tmp/a.hashes") memory hashes, $(($(wc -l <"$tmp/rec") - 1)) input answers; replayed: status $sb, $ib"
echo "output: $(cat "$tmp/a.out")"
exit $fail
