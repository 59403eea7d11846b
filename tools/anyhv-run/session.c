/* anyhv-run: the part of a run both flavours share: choosing the backend through the
 * anyhv_ extensions, guest RAM and the image, the exit loop's frame (failures,
 * --max-exits), and the summary at the end. */
#include <Hypervisor/hv_vm_allocate.h>
#include <anyhv/anyhv.h>

#include <inttypes.h>
#include <string.h>

#include "gdb.h"
#include "session.h"

int session_select_backend(const char *name)
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

/* --deterministic: the software route's mode, asked for before the VM exists. */
int session_select_deterministic(bool on)
{
    if (!on)
        return RUN_OK;
    if (anyhv_get_backend() != ANYHV_BACKEND_SOFT) {
        fprintf(stderr, "anyhv-run: --deterministic needs the software route (backend %s)\n", anyhv_backend_name());
        return RUN_UNAVAILABLE;
    }
    return anyhv_set_deterministic(true) == HV_SUCCESS ? RUN_OK : RUN_UNAVAILABLE;
}

int session_prepare(struct run_session *s, const struct run_options *o, const struct session_layout *l,
                    uint64_t *entry)
{
    memset(s, 0, sizeof(*s));
    s->o = o;
    s->ram_size = o->mem_bytes;
    s->ram_base = l->ram_base;
    int status = session_select_backend(o->backend);
    if (status == RUN_OK)
        status = session_select_deterministic(o->deterministic);
    if (status != RUN_OK)
        return status;
    if (s->ram_size < l->min_ram) {
        fprintf(stderr, "anyhv-run: %s guests need at least %" PRIu64 " MiB of RAM\n", run_arch_name(l->arch),
                l->min_ram >> 20);
        return RUN_USAGE;
    }
    if (hv_vm_allocate((void **)&s->ram, s->ram_size, HV_ALLOCATE_DEFAULT) != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: out of memory: cannot allocate %" PRIu64 " MiB of guest RAM\n",
                s->ram_size >> 20);
        s->ram = NULL;
        return RUN_NO_MEMORY;
    }
    memhash_init(&s->hash, s->ram, s->ram_size, o->hash_parts);
    if (l->no_image)
        return RUN_OK;
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

static int session_finish(struct run_session *s, const struct session_vcpu *v);

/* The budget for the next run: what --max-insns leaves, cut short at --snapshot-at
 * (0: no budget). n is the count so far. */
static uint64_t next_budget(const struct run_session *s, uint64_t n)
{
    uint64_t budget = s->o->max_insns ? s->o->max_insns - n : 0;
    if (s->snapshot_pending && s->o->snapshot_at > n && (!budget || s->o->snapshot_at - n < budget))
        budget = s->o->snapshot_at - n;
    return budget;
}

static bool save_snapshot(struct run_session *s, const struct session_vcpu *v, uint64_t n)
{
    s->snapshot_pending = false;
    if (v->dev_save)
        v->dev_save(v->ctx);
    if (anyhv_vm_snapshot_save(s->o->snapshot_file, v->dev, v->dev_size) != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: cannot save the snapshot: %s\n", anyhv_snapshot_error());
        session_end(s, RUN_UNAVAILABLE);
        return false;
    }
    fprintf(stderr, "anyhv-run: snapshot at %" PRIu64 " guest instructions saved to %s\n", n, s->o->snapshot_file);
    return true;
}

/* Before each run: the snapshot when its instruction comes, the --max-insns end, the
 * budget. False when the session ends. */
static bool before_run(struct run_session *s, const struct session_vcpu *v)
{
    uint64_t n = 0;
    if (!s->o->max_insns && !s->snapshot_pending)
        return true;
    anyhv_vcpu_get_instructions(v->handle_id, &n);
    if (s->snapshot_pending && n == s->o->snapshot_at && !save_snapshot(s, v, n))
        return false;
    if (s->o->max_insns && n >= s->o->max_insns) {
        fprintf(stderr, "anyhv-run: stopped after %" PRIu64 " guest instructions (--max-insns)\n", n);
        session_end(s, RUN_GUEST_FAULT);
        return false;
    }
    anyhv_vcpu_set_instruction_budget(v->handle_id, next_budget(s, n));
    return true;
}

/* --restore: the VM and the devices as the snapshot has them. */
static int restore(struct run_session *s, const struct session_vcpu *v)
{
    size_t len = 0;
    hv_return_t r = anyhv_vm_snapshot_restore(s->o->restore_file, v->dev, v->dev_size, &len);
    if (r == HV_SUCCESS && len != v->dev_size) {
        fprintf(stderr, "anyhv-run: cannot restore '%s': it holds %zu bytes of device state, this machine has %zu\n",
                s->o->restore_file, len, v->dev_size);
        return RUN_BAD_IMAGE;
    }
    if (r != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: cannot restore '%s': %s\n", s->o->restore_file, anyhv_snapshot_error());
        return r == HV_ERROR ? RUN_NO_INPUT : RUN_BAD_IMAGE;
    }
    if (v->dev_load)
        v->dev_load(v->ctx);
    return RUN_OK;
}

/* Needs the software route: instructions counted and stopped at exactly (--max-insns,
 * --snapshot-at). */
static bool budget_available(const struct session_vcpu *v)
{
    uint64_t n;
    return anyhv_vcpu_get_instructions(v->handle_id, &n) == HV_SUCCESS;
}

static uint64_t instructions_now(void *ctx)
{
    uint64_t n = 0;
    anyhv_vcpu_get_instructions(((const struct session_vcpu *)ctx)->handle_id, &n);
    return n;
}

/* --record / --replay: beside the console's log (FILE), the library logs every other
 * input the VMM feeds the guest - device reads it answers in registers, interrupts it
 * raises in the in-framework controller - by instruction count (FILE.inputs,
 * anyhv_record_start); a replay applies those instead of the VMM's own. Not under gdb,
 * whose reverse execution rewinds the VM under the log. */
int session_inputs_log_start(const struct run_options *o, bool *opened)
{
    const char *base = o->record_file ? o->record_file : o->replay_file;
    *opened = false;
    if (!base || o->gdb_port)
        return RUN_OK;
    char path[4096];
    snprintf(path, sizeof(path), "%s.inputs", base);
    hv_return_t r = o->record_file ? anyhv_record_start(path, 0) : anyhv_replay_start(path, 0);
    if (r != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: cannot %s the input log '%s' (0x%x)\n", o->record_file ? "write" : "replay",
                path, (unsigned)r);
        return RUN_UNAVAILABLE;
    }
    *opened = true;
    return RUN_OK;
}

int session_record_end(const struct run_options *o, bool inputs_log, int status)
{
    if (inputs_log && anyhv_record_finish() != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: %s\n", o->replay_file ? "replay diverged from the input log"
                                                            : "cannot write the input log");
        status = RUN_UNAVAILABLE;
    }
    if (o->record_file && !console_log_save(o->record_file)) {
        fprintf(stderr, "anyhv-run: cannot write the record '%s'\n", o->record_file);
        status = RUN_UNAVAILABLE;
    }
    return status;
}

int session_loop(struct run_session *s, const struct session_vcpu *v)
{
    console_init();
    stats_start(&s->stats);
    console_set_clock(instructions_now, (void *)v);
    if (s->o->replay_file && (s->status = console_log_load(s->o->replay_file)) != RUN_OK)
        return s->status;
    s->snapshot_pending = s->o->snapshot_file != NULL;
    if ((s->o->max_insns || s->snapshot_pending) && !budget_available(v)) {
        fprintf(stderr, "anyhv-run: --%s needs the software route (backend %s cannot count instructions)\n",
                s->o->max_insns ? "max-insns" : "snapshot-at", anyhv_backend_name());
        return RUN_UNAVAILABLE;
    }
    if (s->o->restore_file && (s->status = restore(s, v)) != RUN_OK)
        return s->status;
    if (s->o->gdb_port) {
        s->status = gdb_session_loop(s, v);
        return session_finish(s, v);
    }
    if ((s->status = session_inputs_log_start(s->o, &s->inputs_log)) != RUN_OK)
        return s->status;
    while (!s->done && before_run(s, v)) {
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
        anyhv_stop_t stop;
        if (anyhv_vcpu_get_stop(v->handle_id, &stop) == HV_SUCCESS && stop.kind == ANYHV_STOP_BUDGET)
            continue;   /* our own stop (--max-insns, --snapshot-at): not an exit of the guest's */
        v->handle(v->ctx);
        if (!s->done && s->o->max_exits && s->stats.total >= s->o->max_exits) {
            fprintf(stderr, "anyhv-run: stopped after %" PRIu64 " exits (--max-exits)\n", s->stats.total);
            s->status = RUN_GUEST_FAULT;
            break;
        }
    }
    if (s->snapshot_pending && s->status != RUN_UNAVAILABLE)
        fprintf(stderr, "anyhv-run: the guest ended before instruction %" PRIu64 ": no snapshot taken\n",
                s->o->snapshot_at);
    return session_finish(s, v);
}

/* The end of every run: console flushed, the record written, the summary printed. */
static int session_finish(struct run_session *s, const struct session_vcpu *v)
{
    console_flush();
    console_mute(false);
    s->status = session_record_end(s->o, s->inputs_log, s->status);
    s->inputs_log = false;
    uint64_t n = 0;
    long long icount = anyhv_vcpu_get_instructions(v->handle_id, &n) == HV_SUCCESS ? (long long)n : -1;
    anyhv_exec_stats_t exec;
    bool soft = anyhv_vcpu_get_exec_stats(v->handle_id, &exec) == HV_SUCCESS;
    if (s->o->stats && !s->o->quiet)
        stats_print(&s->stats, anyhv_backend_name(), icount, soft ? &exec : NULL, stderr);
    return s->status;
}

