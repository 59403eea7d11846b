/* gdb_stub.c - anyhv-run's run loop under gdb (--gdb PORT, --gdb-wait). The guest
 * runs as in session_loop; gdb's single-step is an instruction budget of one
 * (anyhv_vcpu_set_instruction_budget), its breakpoints and watchpoints are anyhv's
 * (anyhv_vcpu_get_stop says which one hit). A watcher thread accepts a gdb that
 * attaches while the guest runs and takes its ^C; either stops the guest by kicking
 * the vCPU out of hv_vcpu_run. Usage: anyhv-run --gdb 1234 --gdb-wait guest.elf, then
 * gdb-multiarch guest.elf -ex 'target remote :1234'. */
#include <anyhv/anyhv.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gdb_stub.h"

#define WATCHER_POLL_MS 50
#define GDB_THREAD_ID 1u

/* ---- the watcher thread ---- */

static void *watcher(void *arg)
{
    struct gdb_stub *st = arg;
    if (!st->connected) {
        if (!gdb_accept(&st->conn))
            return NULL;   /* the listening socket was shut down: the run ended */
        pthread_mutex_lock(&st->lock);
        st->connected = true;
        pthread_mutex_unlock(&st->lock);
        atomic_store(&st->fresh_attach, true);
        atomic_store(&st->stop_request, true);
        st->t->kick(st->v->handle_id);
    }
    for (;;) {
        pthread_mutex_lock(&st->lock);
        while (!st->running && !st->quit)
            pthread_cond_wait(&st->cond, &st->lock);
        bool quit = st->quit;
        pthread_mutex_unlock(&st->lock);
        if (quit)
            return NULL;
        if (!gdb_readable(&st->conn, WATCHER_POLL_MS))
            continue;
        pthread_mutex_lock(&st->lock);
        bool hit = st->running && gdb_take_interrupt(&st->conn);
        pthread_mutex_unlock(&st->lock);
        if (hit) {
            atomic_store(&st->stop_request, true);
            st->t->kick(st->v->handle_id);
        } else {
            usleep(WATCHER_POLL_MS * 1000);   /* not ours to read: gdb's next packet */
        }
    }
}

static void set_running(struct gdb_stub *st, bool running)
{
    pthread_mutex_lock(&st->lock);
    st->running = running;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

static bool is_connected(struct gdb_stub *st)
{
    pthread_mutex_lock(&st->lock);
    bool c = st->connected;
    pthread_mutex_unlock(&st->lock);
    return c;
}

/* ---- stop replies ---- */

static void stop_reply(struct gdb_stub *st, int sig, const char *why)
{
    snprintf(st->last_stop, sizeof(st->last_stop), "T%02xthread:%x;%s", sig, GDB_THREAD_ID, why ? why : "");
}

/* The gdb point an anyhv stop belongs to, so the reply names what gdb set. */
static const struct gdb_point *point_hit(struct gdb_stub *st, const anyhv_stop_t *stop)
{
    for (unsigned i = 0; i < st->npoints; i++) {
        const struct gdb_point *p = &st->points[i];
        bool brk = p->type <= GDB_HW_BREAK;
        if (stop->kind == ANYHV_STOP_BREAKPOINT && brk && p->addr == stop->pc)
            return p;
        if (stop->kind == ANYHV_STOP_WATCHPOINT && !brk && stop->address <= p->addr + p->len - 1 &&
            p->addr <= stop->address + (stop->size ? stop->size : 1) - 1 &&
            (p->type != GDB_WRITE_WATCH || stop->write) && (p->type != GDB_READ_WATCH || !stop->write))
            return p;
    }
    return NULL;
}

static void report_point(struct gdb_stub *st, const anyhv_stop_t *stop)
{
    static const char *const names[] = { "swbreak", "hwbreak", "watch", "rwatch", "awatch" };
    const struct gdb_point *p = point_hit(st, stop);
    char why[64] = "";
    if (p && p->type <= GDB_HW_BREAK)
        snprintf(why, sizeof(why), "%s:;", names[p->type]);
    else if (p)
        snprintf(why, sizeof(why), "%s:%" PRIx64 ";", names[p->type], p->addr);
    stop_reply(st, GDB_SIGTRAP, why);
}

/* ---- running the guest ---- */

/* The budget for the next run: one instruction for a step, else what --max-insns
 * leaves (0: none). False when --max-insns is used up (the session ends). */
static bool set_budget(struct gdb_stub *st, bool step)
{
    uint64_t n = 0, cap = st->s->o->max_insns, budget = step ? 1 : 0;
    if (cap && anyhv_vcpu_get_instructions(st->v->handle_id, &n) == HV_SUCCESS) {
        if (n >= cap) {
            fprintf(stderr, "anyhv-run: stopped after %" PRIu64 " guest instructions (--max-insns)\n", n);
            session_end(st->s, RUN_GUEST_FAULT);
            return false;
        }
        if (!budget || cap - n < budget)
            budget = cap - n;
    }
    anyhv_vcpu_set_instruction_budget(st->v->handle_id, budget);
    return true;
}

struct gdb_pos gdb_position(struct gdb_stub *st)
{
    struct gdb_pos p = { 0, st->t->pc(st->v->handle_id) };
    anyhv_vcpu_get_instructions(st->v->handle_id, &p.icount);
    return p;
}

void gdb_handle_exit(struct gdb_stub *st)
{
    gdb_history_before_exit(st);
    st->v->handle(st->v->ctx);
    gdb_history_after_exit(st);
}

/* Runs once; true when the run was one of anyhv's stops (filled in *stop), false for
 * an ordinary exit, which has been handled. */
static bool run_once(struct gdb_stub *st, bool step, anyhv_stop_t *stop)
{
    set_running(st, true);
    hv_return_t r = st->v->run(st->v->ctx);
    set_running(st, false);
    if (r != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: hv_vcpu_run failed (0x%x)\n", (unsigned)r);
        session_end(st->s, r == HV_UNSUPPORTED ? RUN_UNAVAILABLE : RUN_GUEST_FAULT);
        return false;
    }
    anyhv_vcpu_get_stop(st->v->handle_id, stop);
    if (stop->kind == ANYHV_STOP_BUDGET && !step && st->s->o->max_insns) {
        set_budget(st, false);   /* ends the session with the --max-insns message */
        return false;
    }
    if (stop->kind != ANYHV_STOP_NONE)
        return true;
    gdb_handle_exit(st);
    if (!st->s->done && st->s->o->max_exits && st->s->stats.total >= st->s->o->max_exits) {
        fprintf(stderr, "anyhv-run: stopped after %" PRIu64 " exits (--max-exits)\n", st->s->stats.total);
        session_end(st->s, RUN_GUEST_FAULT);
    }
    return false;
}

/* x86 watchpoints are traps: run the accessing instruction (watchpoints off), then stop. */
static void finish_watched_instruction(struct gdb_stub *st)
{
    anyhv_stop_t again;
    gdb_points_apply(st, false, true);
    if (set_budget(st, true))
        run_once(st, true, &again);
    gdb_points_apply(st, true, true);
}

/* Resume as gdb asked until the guest stops for gdb (true) or the run ends (false). */
static bool resume(struct gdb_stub *st, bool step)
{
    while (!st->s->done) {
        anyhv_stop_t stop;
        if (!set_budget(st, step))
            return false;
        bool ours = run_once(st, step, &stop);
        if (ours && stop.kind == ANYHV_STOP_WATCHPOINT) {
            if (st->t->watch_after_access)
                finish_watched_instruction(st);
            report_point(st, &stop);
            return !st->s->done;
        }
        if (ours && stop.kind == ANYHV_STOP_BREAKPOINT) {
            report_point(st, &stop);
            return true;
        }
        if (st->s->done)
            return false;
        if (step) {
            stop_reply(st, GDB_SIGTRAP, NULL);
            return true;
        }
        if (atomic_exchange(&st->stop_request, false)) {
            stop_reply(st, GDB_SIGINT, NULL);
            return true;
        }
    }
    return false;
}

/* ---- the session ---- */

/* Talk to gdb while the guest is stopped; returns what gdb wants next. */
static enum gdb_action serve(struct gdb_stub *st)
{
    for (;;) {
        int n = gdb_recv(&st->conn, st->in, sizeof(st->in));
        if (n < 0)
            return GDB_GONE;
        if (n == 0)
            continue;   /* ^C while already stopped */
        enum gdb_action act;
        bool resumes = gdb_handle_packet(st, st->in, &act);
        if (resumes && act != GDB_DETACH)
            return act;
        if (!gdb_send(&st->conn, st->out))
            return GDB_GONE;
        if (!strcmp(st->in, "QStartNoAckMode"))
            st->conn.no_ack = true;
        if (resumes)
            return act;
    }
}

static void forget_gdb(struct gdb_stub *st)
{
    gdb_points_apply(st, false, false);
    st->npoints = 0;
    pthread_mutex_lock(&st->lock);
    st->connected = false;
    st->quit = true;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
    if (st->conn.fd >= 0)
        shutdown(st->conn.fd, SHUT_RDWR);
}

static void debug_loop(struct gdb_stub *st, bool stopped)
{
    while (!st->s->done) {
        bool step = false;
        if (stopped && is_connected(st)) {
            if (!st->history && !st->checkpoint[0])
                gdb_history_begin(st);
            enum gdb_action act = serve(st);
            if (act == GDB_KILL) {
                fprintf(stderr, "anyhv-run: killed by gdb\n");
                session_end(st->s, RUN_OK);
                return;
            }
            if (act == GDB_GONE || act == GDB_DETACH) {
                fprintf(stderr, "anyhv-run: gdb %s; the guest runs on\n", act == GDB_GONE ? "went away" : "detached");
                forget_gdb(st);
            }
            step = act == GDB_STEP;
            if (act == GDB_REVERSE_STEP || act == GDB_REVERSE_CONTINUE) {
                gdb_reverse(st, act == GDB_REVERSE_STEP);
                if (!gdb_send(&st->conn, st->last_stop))
                    forget_gdb(st);
                continue;
            }
        }
        stopped = resume(st, step) && is_connected(st);
        /* A gdb that has just attached asks with '?'; one that resumed us waits for this. */
        if (stopped && !atomic_exchange(&st->fresh_attach, false) && !gdb_send(&st->conn, st->last_stop))
            forget_gdb(st);
    }
}

static int start(struct gdb_stub *st)
{
    unsigned port = st->s->o->gdb_port;
    if (!gdb_listen(&st->conn, port)) {
        fprintf(stderr, "anyhv-run: cannot listen for gdb on port %u: %s\n", port, strerror(errno));
        return RUN_UNAVAILABLE;
    }
    fprintf(stderr, "anyhv-run: gdb stub on 127.0.0.1:%u (backend %s)%s\n", port, anyhv_backend_name(),
            st->s->o->gdb_wait ? ", waiting for gdb" : "");
    if (st->s->o->gdb_wait) {
        if (!gdb_accept(&st->conn)) {
            fprintf(stderr, "anyhv-run: gdb did not connect: %s\n", strerror(errno));
            return RUN_UNAVAILABLE;
        }
        st->connected = true;
    }
    st->thread_started = pthread_create(&st->thread, NULL, watcher, st) == 0;
    return RUN_OK;
}

static void stop(struct gdb_stub *st)
{
    if (is_connected(st)) {
        char exited[8];
        snprintf(exited, sizeof(exited), "W%02x", (unsigned)st->s->status & 0xffu);
        gdb_send(&st->conn, exited);
    }
    pthread_mutex_lock(&st->lock);
    st->quit = true;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
    if (st->conn.listen_fd >= 0)
        shutdown(st->conn.listen_fd, SHUT_RDWR);   /* a watcher blocked in accept returns */
    if (st->thread_started)
        pthread_join(st->thread, NULL);
    gdb_close(&st->conn);
}

int gdb_session_loop(struct run_session *s, const struct session_vcpu *v)
{
    static struct gdb_stub st;   /* large buffers; one stub per process */
    memset(&st, 0, sizeof(st));
    st.s = s;
    st.v = v;
    st.t = &gdb_flavour_target;
    st.conn.fd = st.conn.listen_fd = -1;
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.cond, NULL);
    stop_reply(&st, GDB_SIGTRAP, NULL);
    int status = start(&st);
    if (status == RUN_OK) {
        debug_loop(&st, st.connected);
        status = s->status;
    }
    stop(&st);
    gdb_history_end(&st);
    return status;
}
