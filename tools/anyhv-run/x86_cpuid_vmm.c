/* anyhv-run, Intel flavour: the CPUID a guest sees, built as a VMM builds it.
 *
 * --cpuid model (default): anyhv's recommended values (anyhv_vcpu_x86_cpuid: what the
 * software CPU implements) plus what this VMM itself emulates (the platform bits below).
 *
 * --cpuid host: the host processor's CPUID passed through the way a Hypervisor.framework
 * VMM passes a Mac's through (docs/anyhv-run.md "CPUID"): the host's identity (vendor,
 * signature, brand) and cache descriptions, its feature bits ANDed with anyhv's model
 * (a host bit the model lacks names an instruction the software CPU does not have), and
 * what no hypervisor passes through replaced: the hypervisor bit set, the topology (APIC
 * IDs, core and thread counts) made the VM's, MONITOR/MWAIT, VMX/SMX, the performance-
 * monitoring, thermal/power, SGX, processor-trace, RDT and AMX leaves zero, the TSC and
 * bus frequencies the VM's clock, the XSAVE leaf and address widths the VM's (the model's).
 *
 * On KVM the guest's CPUID never exits (the kernel answers it), so this is the software
 * route's. */
#include <string.h>

#include "x86_cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define HOST_IS_X86 1
#else
#define HOST_IS_X86 0
#endif

#define LEAF_FEATURES 0x1u
#define LEAF_CACHE_DESC 0x2u
#define LEAF_CACHE_PARAMS 0x4u
#define LEAF_EXT7 0x7u
#define LEAF_XSAVE 0xdu
#define LEAF_TSC 0x15u
#define LEAF_FREQ 0x16u
#define LEAF_HYPERVISOR 0x40000000u
#define LEAF_EXT_MAX 0x80000000u
#define LEAF_EXT_FEATURES 0x80000001u
#define LEAF_BRAND0 0x80000002u
#define LEAF_BRAND2 0x80000004u
#define LEAF_EXT_L2 0x80000006u
#define LEAF_EXT_POWER 0x80000007u
/* Highest leaves this VMM answers: leaves above them (SoC vendor, TLB, key locker,
 * hybrid, AMX tiles, V2 topology; AMD's extended leaves) describe nothing it offers. */
#define MAX_BASIC LEAF_FREQ
#define MAX_EXT 0x80000008u

#define BIT(n) (1u << (n))
/* Platform bits this VMM emulates (the library's model leaves them to the VMM): leaf 1
 * EDX APIC; ECX x2APIC, TSC-deadline timer; leaf 7 EBX IA32_TSC_ADJUST; EDX
 * IA32_ARCH_CAPABILITIES (x86_cpu.c); 0x80000007 EDX invariant TSC. */
#define PLAT_L1_EDX BIT(9)
#define PLAT_L1_ECX (BIT(21) | BIT(24))
#define PLAT_L7_EBX BIT(1)
#define PLAT_L7_EDX BIT(29)
#define PLAT_X7_EDX BIT(8)
/* Leaf 1 EBX: brand index and CLFLUSH size from the host; logical processors per
 * package (23:16) and the APIC ID (31:24) the VM's. */
#define L1_EBX_HOST_MASK 0x0000ffffu
#define L1_EBX_APIC_SHIFT 24
/* Leaf 4 EAX: cores per package (31:26) and threads sharing the cache (25:14) are the
 * host's topology; the VM's is one thread per core, one core per package. */
#define L4_EAX_TOPOLOGY 0xffffc000u
/* Leaf 0x15: TSC = crystal * 10 / 1; crystal 100 MHz (= the APIC timer clock). */
#define TSC_CRYSTAL_HZ 100000000u
#define TSC_RATIO_NUM 10u
#define TSC_RATIO_DEN 1u
#define TSC_MHZ 1000u
#define BUS_MHZ 100u

static void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
#if HOST_IS_X86
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#else
    (void)leaf, (void)sub;
    memset(r, 0, 4 * sizeof(r[0]));
#endif
}

/* The bits this VMM adds on either mode: its own devices and clock. */
static void platform(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    switch (leaf) {
    case LEAF_FEATURES:
        r[2] |= PLAT_L1_ECX;
        r[3] |= PLAT_L1_EDX;
        return;
    case LEAF_EXT7:
        if (sub == 0) {
            r[1] |= PLAT_L7_EBX;
            r[3] |= PLAT_L7_EDX;
        }
        return;
    case LEAF_TSC:
        r[0] = TSC_RATIO_DEN, r[1] = TSC_RATIO_NUM, r[2] = TSC_CRYSTAL_HZ, r[3] = 0;
        return;
    case LEAF_FREQ:
        r[0] = TSC_MHZ, r[1] = TSC_MHZ, r[2] = BUS_MHZ, r[3] = 0;
        return;
    case LEAF_HYPERVISOR:
        r[0] = LEAF_HYPERVISOR, r[1] = r[2] = r[3] = 0;
        return;
    case LEAF_EXT_POWER:
        r[0] = r[1] = r[2] = 0, r[3] = PLAT_X7_EDX;
        return;
    default:
        return;
    }
}

/* Host mode: which leaves come from where. */
enum source { SRC_ZERO, SRC_MODEL, SRC_HOST, SRC_AND };
static enum source host_source(uint32_t leaf)
{
    switch (leaf) {
    case 0: case LEAF_CACHE_DESC: case LEAF_CACHE_PARAMS: case LEAF_EXT_MAX: case LEAF_EXT_L2:
        return SRC_HOST;
    case LEAF_FEATURES: case LEAF_EXT7: case LEAF_EXT_FEATURES:
        return SRC_AND;
    case LEAF_XSAVE: case MAX_EXT:
        return SRC_MODEL;   /* the VM's XSAVE layout and address widths */
    default:
        return leaf >= LEAF_BRAND0 && leaf <= LEAF_BRAND2 ? SRC_HOST : SRC_ZERO;
    }
}

/* A leaf above the highest one answers as the highest basic leaf (Intel's rule). */
static uint32_t clamp_leaf(uint32_t leaf)
{
    if (leaf >= LEAF_EXT_MAX)
        return leaf <= MAX_EXT ? leaf : MAX_BASIC;
    if (leaf >= LEAF_HYPERVISOR)
        return leaf == LEAF_HYPERVISOR ? leaf : MAX_BASIC;
    return leaf <= MAX_BASIC ? leaf : MAX_BASIC;
}

static void host_leaf(hv_vcpuid_t vcpu, uint32_t leaf, uint32_t sub, uint32_t apic_id, uint32_t r[4])
{
    uint32_t m[4] = { 0 };
    anyhv_vcpu_x86_cpuid(vcpu, leaf, sub, m);
    memset(r, 0, 4 * sizeof(r[0]));
    switch (host_source(leaf)) {
    case SRC_ZERO:
        return;
    case SRC_MODEL:
        memcpy(r, m, sizeof(m));
        return;
    case SRC_HOST:
        host_cpuid(leaf, sub, r);
        break;
    case SRC_AND:
        host_cpuid(leaf, sub, r);
        for (unsigned i = 0; i < 4; i++)
            r[i] &= m[i];
        break;
    }
    if (leaf == 0 && r[0] > MAX_BASIC)
        r[0] = MAX_BASIC;
    if (leaf == LEAF_EXT_MAX && r[0] > MAX_EXT)
        r[0] = MAX_EXT;
    if (leaf == LEAF_FEATURES) {
        uint32_t host[4];
        host_cpuid(leaf, 0, host);
        r[0] = host[0];   /* the host's signature */
        r[1] = (host[1] & L1_EBX_HOST_MASK) | (apic_id << L1_EBX_APIC_SHIFT);
    }
    if (leaf == LEAF_EXT7 && sub == 0)
        r[0] = m[0];      /* the model's highest subleaf */
    if (leaf == LEAF_CACHE_PARAMS)
        r[0] &= ~L4_EAX_TOPOLOGY;
}

void x86cpu_cpuid(hv_vcpuid_t vcpu, enum x86cpu_cpuid_mode mode, uint32_t leaf, uint32_t sub, uint32_t apic_id,
                  uint32_t out[4])
{
    leaf = clamp_leaf(leaf);
    if (mode == X86CPU_CPUID_HOST) {
        host_leaf(vcpu, leaf, sub, apic_id, out);
    } else {
        memset(out, 0, 4 * sizeof(out[0]));
        uint32_t top[4] = { 0 };
        anyhv_vcpu_x86_cpuid(vcpu, leaf >= LEAF_EXT_MAX ? LEAF_EXT_MAX : 0, 0, top);
        if (leaf <= top[0] && leaf != LEAF_HYPERVISOR)   /* listed by the model */
            anyhv_vcpu_x86_cpuid(vcpu, leaf, sub, out);
        if (leaf == LEAF_FEATURES)
            out[1] = (out[1] & ~(0xffu << L1_EBX_APIC_SHIFT)) | (apic_id << L1_EBX_APIC_SHIFT);
        if (leaf == 0 && out[0] < MAX_BASIC)
            out[0] = MAX_BASIC;   /* the TSC leaves are this VMM's */
    }
    platform(leaf, sub, out);
}
