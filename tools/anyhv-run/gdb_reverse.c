/* gdb_reverse.c - reverse execution for the gdb stub (reverse-stepi, reverse-continue)
 * by snapshots and re-execution. In a deterministic run (--deterministic, --record,
 * --replay: virtual time, console input from the log) the past is a function of where
 * the history starts: the stub snapshots the VM at gdb's first stop
 * (anyhv_vm_snapshot_save, with the UART state and the input log's cursor) and, to go
 * back, restores it and runs forward again to the wanted place:
 *   reverse-stepi     re-run to just before the current place, step through to it,
 *                     remembering the place before; restore and re-run to that one;
 *   reverse-continue  re-run to the current place with the breakpoints on, noting each
 *                     hit; restore and re-run to the last hit.
 * Places are (instructions retired, pc) pairs (struct gdb_pos). Output the guest printed
 * once is not printed again while the past is re-run: the console is muted until the
 * re-run reaches the last exit whose output was printed. */
#include <anyhv/anyhv.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gdb_stub.h"

#define GDB_THREAD_ID 1u

static bool same(struct gdb_pos a, struct gdb_pos b)
{
    return a.icount == b.icount && a.pc == b.pc;
}

void gdb_history_begin(struct gdb_stub *st)
{
    snprintf(st->checkpoint, sizeof(st->checkpoint), "/tmp/anyhv-run-gdb-%d.snap", (int)getpid());
    if (!anyhv_is_deterministic() || anyhv_get_backend() != ANYHV_BACKEND_SOFT)
        return;   /* the past cannot be re-run exactly: no reverse execution */
    if (st->v->dev_save)
        st->v->dev_save(st->v->ctx);
    if (anyhv_vm_snapshot_save(st->checkpoint, st->v->dev, st->v->dev_size) != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: no reverse execution: %s\n", anyhv_snapshot_error());
        return;
    }
    st->start = gdb_position(st);
    st->start_log = console_log_position();
    st->history = true;
}

void gdb_history_end(struct gdb_stub *st)
{
    if (st->history)
        unlink(st->checkpoint);
    st->history = false;
}

static void set_mute(struct gdb_stub *st, bool on)
{
    st->muted = on;
    console_mute(on);
}

void gdb_history_before_exit(struct gdb_stub *st)
{
    if (!st->history || !st->muted)
        return;
    struct gdb_pos p = gdb_position(st);
    if (p.icount > st->printed.icount)
        set_mute(st, false);              /* past everything printed: new output */
    else if (same(p, st->printed))
        st->unmute_after = true;          /* the last exit printed: once more muted */
}

void gdb_history_after_exit(struct gdb_stub *st)
{
    if (!st->history)
        return;
    if (st->unmute_after) {
        st->unmute_after = false;
        set_mute(st, false);
    } else if (!st->muted) {
        st->printed = gdb_position(st);   /* this exit's output went out */
        st->printed_valid = true;
    }
}

/* Restore the start of the history: VM, devices, input cursor; output muted. */
static bool rewind_history(struct gdb_stub *st)
{
    size_t len = 0;
    if (anyhv_vm_snapshot_restore(st->checkpoint, st->v->dev, st->v->dev_size, &len) != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: reverse execution failed: %s\n", anyhv_snapshot_error());
        return false;
    }
    if (st->v->dev_load)
        st->v->dev_load(st->v->ctx);
    console_log_seek(st->start_log);
    set_mute(st, st->printed_valid);
    st->unmute_after = false;
    return true;
}

/* One run with a budget; an ordinary exit is handled. The stop kind it ended with. */
static anyhv_stop_kind_t advance(struct gdb_stub *st, uint64_t budget)
{
    anyhv_stop_t stop;
    anyhv_vcpu_set_instruction_budget(st->v->handle_id, budget);
    if (st->v->run(st->v->ctx) != HV_SUCCESS)
        return ANYHV_STOP_NONE;
    anyhv_vcpu_get_stop(st->v->handle_id, &stop);
    if (stop.kind == ANYHV_STOP_NONE)
        gdb_handle_exit(st);
    return stop.kind;
}

/* gdb's breakpoints on or off in the vCPU (watchpoints stay off while re-running). */
static void breakpoints(struct gdb_stub *st, bool on)
{
    for (unsigned i = 0; i < st->npoints; i++)
        if (st->points[i].type <= GDB_HW_BREAK)
            anyhv_vcpu_set_breakpoint(st->v->handle_id, st->points[i].addr, on);
}

static bool is_breakpoint(const struct gdb_stub *st, uint64_t pc)
{
    for (unsigned i = 0; i < st->npoints; i++)
        if (st->points[i].type <= GDB_HW_BREAK && st->points[i].addr == pc)
            return true;
    return false;
}

/* Run forward to the first place whose count is n. With hit != NULL, gdb's breakpoints
 * are on and the last place one of them stopped at is noted (*any). */
static void run_to_count(struct gdb_stub *st, uint64_t n, struct gdb_pos *hit, bool *any)
{
    breakpoints(st, hit != NULL);
    while (!st->s->done) {
        struct gdb_pos p = gdb_position(st);
        if (p.icount >= n)
            break;
        if (advance(st, n - p.icount) == ANYHV_STOP_BREAKPOINT) {
            *hit = gdb_position(st);
            *any = true;
            breakpoints(st, false);   /* step over it, then carry on */
            advance(st, 1);
            breakpoints(st, true);
        }
    }
    breakpoints(st, false);
}

/* From there, one gdb step at a time to target; *prev gets the place before it. With
 * hit != NULL, places on a breakpoint on the way are noted. False when target is not on
 * the path (the run was not deterministic after all). */
static bool step_to(struct gdb_stub *st, struct gdb_pos target, struct gdb_pos *prev, struct gdb_pos *hit, bool *any)
{
    struct gdb_pos p = gdb_position(st);
    *prev = p;
    while (!same(p, target)) {
        if (p.icount > target.icount || st->s->done)
            return false;
        if (hit && is_breakpoint(st, p.pc)) {
            *hit = p;
            *any = true;
        }
        *prev = p;
        advance(st, 1);
        p = gdb_position(st);
    }
    return true;
}

/* Re-run from the start of the history to target. */
static bool go_to(struct gdb_stub *st, struct gdb_pos target)
{
    struct gdb_pos ignored;
    if (!rewind_history(st))
        return false;
    run_to_count(st, target.icount, NULL, NULL);
    return step_to(st, target, &ignored, NULL, NULL);
}

static void reply(struct gdb_stub *st, const char *why)
{
    snprintf(st->last_stop, sizeof(st->last_stop), "T05thread:%x;%s", GDB_THREAD_ID, why);
}

/* The place to go back to: the one before cur (step), or the last breakpoint hit
 * before cur, else the start of the history. */
static bool find_target(struct gdb_stub *st, struct gdb_pos cur, bool step, struct gdb_pos *target, bool *hit_found)
{
    struct gdb_pos prev;
    *target = st->start;
    *hit_found = false;
    if (!rewind_history(st))
        return false;
    if (step) {
        run_to_count(st, cur.icount > st->start.icount ? cur.icount - 1 : st->start.icount, NULL, NULL);
        if (!step_to(st, cur, &prev, NULL, NULL))
            return false;
        *target = prev;
        return true;
    }
    run_to_count(st, cur.icount, target, hit_found);
    return step_to(st, cur, &prev, target, hit_found);
}

void gdb_reverse(struct gdb_stub *st, bool step)
{
    struct gdb_pos cur = gdb_position(st), target;
    bool hit;
    if (same(cur, st->start)) {
        reply(st, "replaylog:begin;");
        return;
    }
    gdb_points_apply(st, false, false);
    bool ok = find_target(st, cur, step, &target, &hit) && go_to(st, target);
    gdb_points_apply(st, true, false);
    if (!ok) {
        fprintf(stderr, "anyhv-run: reverse execution could not re-run the past exactly\n");
        reply(st, "");
    } else if (step) {
        reply(st, same(target, st->start) ? "replaylog:begin;" : "");
    } else {
        reply(st, hit ? "swbreak:;" : "replaylog:begin;");
    }
}
