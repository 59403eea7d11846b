/* anyhv-bench-arm64: runs one bench guest once through the Apple-silicon hv_* API and
 * prints "run SECONDS VALUE ICOUNT EXITS" (see child_x86.c for why a process). */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>
#include <anyhv/anyhv.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "child.h"

#define ESR_EC_SHIFT 26
#define ESR_EC_MASK 0x3fu
#define ESR_EC_DABT_LOWER 0x24u
#define ESR_WNR (1u << 6)
#define ESR_SRT_SHIFT 16
#define ESR_SRT_MASK 0x1fu
#define A64_PSTATE_EL1H_DAIF 0x3c5u
#define XZR 31u

static int run_guest(hv_vcpu_t vcpu, hv_vcpu_exit_t *ex, const uint8_t *ram, uint64_t *exits, double *seconds,
                     uint64_t *value)
{
    double t0 = bench_now();
    for (;;) {
        if (hv_vcpu_run(vcpu) != HV_SUCCESS)
            return printf("error hv_vcpu_run failed\n"), 1;
        if (ex->reason == HV_EXIT_REASON_CANCELED)
            continue;
        uint64_t esr = ex->exception.syndrome, pc = 0;
        if (ex->reason != HV_EXIT_REASON_EXCEPTION || ((esr >> ESR_EC_SHIFT) & ESR_EC_MASK) != ESR_EC_DABT_LOWER)
            return printf("error unexpected exit (reason %u, ESR 0x%" PRIx64 ")\n", ex->reason, esr), 1;
        if (ex->exception.physical_address == BENCH_A64_EXIT) {
            *seconds = bench_now() - t0;
            memcpy(value, ram + (BENCH_A64_RESULT - BENCH_A64_RAM_BASE), sizeof(*value));
            return 0;
        }
        unsigned srt = (esr >> ESR_SRT_SHIFT) & ESR_SRT_MASK;
        if (!(esr & ESR_WNR) && srt != XZR)   /* the device reads as 0 */
            hv_vcpu_set_reg(vcpu, (hv_reg_t)(HV_REG_X0 + srt), 0);
        hv_vcpu_get_reg(vcpu, HV_REG_PC, &pc);
        hv_vcpu_set_reg(vcpu, HV_REG_PC, pc + 4);
        ++*exits;
    }
}

int main(int argc, char **argv)
{
    uint8_t *ram = NULL;
    uint64_t entry = 0, exits = 0, value = 0;
    double seconds = 0;
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *ex;
    if (!child_start(argc, argv, BENCH_A64_RAM_BASE, &ram, &entry))
        return 1;
    if (hv_vm_create(NULL) != HV_SUCCESS ||
        hv_vm_map(ram, BENCH_A64_RAM_BASE, BENCH_RAM_BYTES, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) !=
            HV_SUCCESS ||
        hv_vcpu_create(&vcpu, &ex, NULL) != HV_SUCCESS)
        return printf("error cannot create the VM\n"), 1;
    hv_vcpu_set_reg(vcpu, HV_REG_PC, entry);
    hv_vcpu_set_reg(vcpu, HV_REG_CPSR, A64_PSTATE_EL1H_DAIF);
    hv_vcpu_set_sys_reg(vcpu, HV_SYS_REG_SP_EL1, BENCH_A64_RAM_BASE + BENCH_RAM_BYTES);
    if (run_guest(vcpu, ex, ram, &exits, &seconds, &value))
        return 1;
    child_report(vcpu, seconds, value, exits);
    hv_vcpu_destroy(vcpu);
    hv_vm_destroy();
    return 0;
}
