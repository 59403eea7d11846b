#!/bin/sh
# The Multiboot image on the KVM route. There the guest's CPUID is the kernel's
# (KVM_GET_SUPPORTED_CPUID: the host's, docs/differences.md), so the vendor letter the
# guest prints is the first letter of the host's vendor string: "G" on an Intel host,
# as in the oracle, "A" on an AMD one (docs/vendor-differences.md, KVM_CPUID_VENDOR).
# Everything else in the output is compared as it stands.
#   multiboot_kvm_case.sh ORACLE RUN_CASE EXPECT_STATUS -- anyhv-run args...
oracle=$1 run_case=$2 status=$3
shift 3
vendor=$(sed -n 's/^vendor_id[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
letter=$(printf '%s' "${vendor:-GenuineIntel}" | cut -c 1)
expected=$(mktemp)
trap 'rm -f "$expected"' EXIT
sed "s/ G msr=/ $letter msr=/" "$oracle" >"$expected"
sh "$run_case" "$status" "$expected" - "$@"
