/* anyhv-run: the part of a run both flavours share: choosing the backend through the
 * anyhv_ extensions, guest RAM and the image, the exit loop's frame (failures,
 * --max-exits), and the summary at the end. */
#include <Hypervisor/hv_vm_allocate.h>
#include <anyhv/anyhv.h>

#include <inttypes.h>
#include <string.h>

#include "session.h"

static int select_backend(const char *name)
{
    anyhv_backend_t b = !strcmp(name, "kvm") ? ANYHV_BACKEND_KVM : !strcmp(name, "soft") ? ANYHV_BACKEND_SOFT
                                                                                        : ANYHV_BACKEND_AUTO;
    const char *why = NULL;
    if (!anyhv_backend_available(b, &why)) {
        fprintf(stderr, "anyhv-run: backend %s is not available here: %s\n", name, why ? why : "unknown reason");
        return RUN_UNAVAILABLE;
    }
    return anyhv_set_backend(b) == HV_SUCCESS ? RUN_OK : RUN_UNAVAILABLE;
}

int session_prepare(struct run_session *s, const struct run_options *o, const struct session_layout *l,
                    uint64_t *entry)
{
    memset(s, 0, sizeof(*s));
    s->o = o;
    s->ram_size = o->mem_bytes;
    int status = select_backend(o->backend);
    if (status != RUN_OK)
        return status;
    if (s->ram_size < l->min_ram) {
        fprintf(stderr, "anyhv-run: %s guests need at least %" PRIu64 " MiB of RAM\n", run_arch_name(l->arch),
                l->min_ram >> 20);
        return RUN_USAGE;
    }
    if (hv_vm_allocate((void **)&s->ram, s->ram_size, HV_ALLOCATE_DEFAULT) != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: cannot allocate %" PRIu64 " MiB of guest RAM\n", s->ram_size >> 20);
        s->ram = NULL;
        return RUN_UNAVAILABLE;
    }
    struct run_options lo = *o;
    if (!lo.load_addr_set)
        lo.load_addr = l->default_load;
    return image_load(&lo, l->arch, s->ram, l->ram_base, s->ram_size, l->reserved_below, entry);
}

void session_release(struct run_session *s)
{
    if (s->ram)
        hv_vm_deallocate(s->ram, s->ram_size);
    s->ram = NULL;
}

void session_end(struct run_session *s, int status)
{
    s->done = true;
    s->status = status;
}

int session_unavailable(const char *what, hv_return_t r)
{
    fprintf(stderr, "anyhv-run: %s (0x%x)%s\n", what, (unsigned)r,
            r == HV_UNSUPPORTED ? ": this backend cannot run guest code yet" : "");
    return RUN_UNAVAILABLE;
}

/* --max-insns: budget the next run to what is left; true when nothing is left. */
static bool insn_cap_reached(struct run_session *s, const struct session_vcpu *v)
{
    uint64_t n = 0;
    if (!s->o->max_insns || anyhv_vcpu_get_instructions(v->handle_id, &n) != HV_SUCCESS)
        return false;
    if (n >= s->o->max_insns) {
        fprintf(stderr, "anyhv-run: stopped after %" PRIu64 " guest instructions (--max-insns)\n", n);
        session_end(s, RUN_GUEST_FAULT);
        return true;
    }
    anyhv_vcpu_set_instruction_budget(v->handle_id, s->o->max_insns - n);
    return false;
}

int session_loop(struct run_session *s, const struct session_vcpu *v)
{
    console_init();
    stats_start(&s->stats);
    if (s->o->max_insns && anyhv_vcpu_set_instruction_budget(v->handle_id, s->o->max_insns) != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: --max-insns needs the software route (backend %s cannot count instructions)\n",
                anyhv_backend_name());
        return RUN_UNAVAILABLE;
    }
    while (!s->done && !insn_cap_reached(s, v)) {
        hv_return_t r = v->run(v->ctx);
        if (r == HV_UNSUPPORTED) {
            s->status = session_unavailable("hv_vcpu_run failed", r);
            break;
        }
        if (r != HV_SUCCESS) {
            fprintf(stderr, "anyhv-run: hv_vcpu_run failed (0x%x)\n", (unsigned)r);
            s->status = RUN_GUEST_FAULT;
            break;
        }
        if (insn_cap_reached(s, v))
            break;   /* the run ended on the budget: not an exit of the guest's */
        v->handle(v->ctx);
        if (!s->done && s->o->max_exits && s->stats.total >= s->o->max_exits) {
            fprintf(stderr, "anyhv-run: stopped after %" PRIu64 " exits (--max-exits)\n", s->stats.total);
            s->status = RUN_GUEST_FAULT;
            break;
        }
    }
    console_flush();
    uint64_t n = 0;
    long long icount = anyhv_vcpu_get_instructions(v->handle_id, &n) == HV_SUCCESS ? (long long)n : -1;
    anyhv_exec_stats_t exec;
    bool soft = anyhv_vcpu_get_exec_stats(v->handle_id, &exec) == HV_SUCCESS;
    if (!s->o->quiet)
        stats_print(&s->stats, anyhv_backend_name(), icount, soft ? &exec : NULL, stderr);
    return s->status;
}
