#!/bin/sh
# Run the x87calc oracle natively, then the guest through run_case.sh against its
# output. Skips (77) when this host cannot run the oracle (not x86-64, or no i386
# binary support) or its KVM cannot run x87 kernel code, and says so.
#   x87calc_case.sh NATIVE_ORACLE RUN_CASE anyhv-run args...
native=$1 run_case=$2
shift 2
expected=$(mktemp)
trap 'rm -f "$expected"' EXIT
if ! "$native" >"$expected" 2>/dev/null; then
    echo "Skipping: the native oracle $native does not run on this host"
    exit 77
fi
case " $* " in
*" --backend kvm "*)
    if ! grep -qE '^flags.* (vmx|svm)( |$)' /proc/cpuinfo; then
        echo "Skipping: this host's KVM is paravirtual (PVM): it emulates CPL0 guest code, and kvm-pvm stops with INTERNAL_ERROR on its first x87 instruction"
        exit 77
    fi ;;
esac
sh "$run_case" 0 "$expected" - -- "$@"
