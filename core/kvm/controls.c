/* KVM backend: VMX controls KVM cannot honour (KVM runs CPUID, RDTSC, CR and DR
 * accesses, INVLPG, MWAIT/PAUSE and most exceptions in the kernel, and offers no
 * CR0/CR4 read shadows). A run with such a control set goes ahead without those
 * exits, as docs/differences.md says; the first such run of each vCPU says so on
 * stderr (ANYHV_QUIET=1 silences it), naming the controls and the soft backend,
 * which honours them. */
#include "core/kvm/kvm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ctl_field { CF_CPU, CF_CPU2, CF_EXC };

static const struct {
    enum ctl_field field;
    uint32_t bit;
    const char *name;
} unhonoured[] = {
    { CF_CPU, 1u << 3, "TSC offsetting" },       { CF_CPU, 1u << 9, "INVLPG exiting" },
    { CF_CPU, 1u << 10, "MWAIT exiting" },       { CF_CPU, 1u << 11, "RDPMC exiting" },
    { CF_CPU, 1u << 12, "RDTSC exiting" },       { CF_CPU, 1u << 15, "CR3-load exiting" },
    { CF_CPU, 1u << 16, "CR3-store exiting" },   { CF_CPU, 1u << 19, "CR8-load exiting" },
    { CF_CPU, 1u << 20, "CR8-store exiting" },   { CF_CPU, 1u << 21, "TPR shadow" },
    { CF_CPU, 1u << 22, "NMI-window exiting" },  { CF_CPU, 1u << 23, "MOV-DR exiting" },
    { CF_CPU, 1u << 27, "monitor trap flag" },   { CF_CPU, 1u << 29, "MONITOR exiting" },
    { CF_CPU, 1u << 30, "PAUSE exiting" },       { CF_CPU2, 1u << 2, "descriptor-table exiting" },
    { CF_CPU2, 1u << 6, "WBINVD exiting" },      { CF_CPU2, 1u << 11, "RDRAND exiting" },
    { CF_CPU2, 1u << 16, "RDSEED exiting" },
};

/* Exceptions KVM hands to user space: #BP (software-breakpoint intercept). */
#define EXC_HONOURED (1u << X86_EXC_BP)

static uint32_t field_value(const struct x86_vmx_controls *c, enum ctl_field f)
{
    return f == CF_CPU ? c->cpu_based : f == CF_CPU2 ? c->cpu_based2 : c->exc_bitmap;
}

void kvm_controls_check(struct vcpu *v)
{
    struct kvm_vcpu *kv = v->be;
    const struct x86_vmx_controls *c = &v->st.x86->vmx;
    uint64_t sig = ((uint64_t)c->cpu_based << 32 | c->cpu_based2) ^ ((uint64_t)c->exc_bitmap << 7) ^
                   (c->cr0_mask ? 1ull : 0) ^ (c->cr4_mask ? 2ull : 0);
    if (kv->controls_warned && sig == kv->controls_sig)
        return;
    kv->controls_sig = sig;
    char msg[512] = "";
    size_t n = 0;
    for (size_t i = 0; i < sizeof(unhonoured) / sizeof(unhonoured[0]); i++)
        if (field_value(c, unhonoured[i].field) & unhonoured[i].bit)
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s", n ? ", " : "", unhonoured[i].name);
    uint32_t exc = c->exc_bitmap & ~EXC_HONOURED;
    if (exc && n < sizeof(msg))
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%sexception bitmap %#x", n ? ", " : "", exc);
    if ((c->cr0_mask || c->cr4_mask) && n < sizeof(msg))
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%sCR0/CR4 guest/host masks", n ? ", " : "");
    if (!n)
        return;
    kv->controls_warned = true;
    const char *quiet = getenv("ANYHV_QUIET");
    if (quiet && strcmp(quiet, "0") != 0)
        return;
    fprintf(stderr,
            "anyhv: kvm backend, vCPU %u: these VMX controls cannot be honoured on KVM and give no exits: %s "
            "(docs/differences.md; the soft backend honours them: ANYHV_BACKEND=soft)\n",
            v->id, msg);
}
