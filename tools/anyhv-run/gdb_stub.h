/* The gdb stub's own state, shared by its run loop (gdb_stub.c) and its command
 * handlers (gdb_cmds.c). */
#ifndef ANYHV_TOOLS_GDB_STUB_H
#define ANYHV_TOOLS_GDB_STUB_H

#include <pthread.h>
#include <stdatomic.h>

#include "gdb.h"
#include "session.h"

#define GDB_MAX_POINTS 64u
#define GDB_SIGINT 2
#define GDB_SIGTRAP 5

/* What gdb asked for when it resumed the guest (or left). */
enum gdb_action { GDB_CONTINUE, GDB_STEP, GDB_REVERSE_CONTINUE, GDB_REVERSE_STEP, GDB_KILL, GDB_DETACH, GDB_GONE };

/* A point in a deterministic run: instructions retired and the pc. Exits that do not
 * retire their instruction (port I/O, MMIO) keep the count but move the pc, so the pair
 * names every place gdb can stop at. */
struct gdb_pos {
    uint64_t icount, pc;
};

/* gdb's Z packet types. */
enum gdb_point_type { GDB_SW_BREAK = 0, GDB_HW_BREAK = 1, GDB_WRITE_WATCH = 2, GDB_READ_WATCH = 3, GDB_ACCESS_WATCH = 4 };

struct gdb_point {
    uint64_t addr, len;
    enum gdb_point_type type;
};

struct gdb_stub {
    struct run_session *s;
    const struct session_vcpu *v;
    const struct gdb_target *t;
    struct gdb_conn conn;
    bool connected;
    /* The watcher thread: accepts a late gdb and takes ^C while the guest runs. */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool running, quit;
    _Atomic bool stop_request;     /* ^C, or a gdb attached: stop at the next exit */
    _Atomic bool fresh_attach;     /* that gdb has not been told anything yet */
    /* gdb's breakpoints and watchpoints as it set them (for stop replies). */
    struct gdb_point points[GDB_MAX_POINTS];
    unsigned npoints;
    char last_stop[96];            /* the stop reply '?' repeats */
    /* Reverse execution (gdb_reverse.c): a snapshot where the history starts, the
     * console-input log's cursor there, and the last exit whose output was printed. */
    bool history;
    char checkpoint[64];
    struct gdb_pos start, printed;
    size_t start_log;
    bool printed_valid, unmute_after, muted;
    char in[GDB_PACKET_MAX + 1];
    char out[GDB_PACKET_MAX + 1];
};

/* gdb_cmds.c: answer one packet (reply in st->out, "" for unsupported). Returns
 * true with *act set when the packet resumes or ends the session. */
bool gdb_handle_packet(struct gdb_stub *st, const char *pkt, enum gdb_action *act);
/* gdb_stub.c: handle an ordinary exit (device emulation), with the history's
 * output bookkeeping. */
void gdb_handle_exit(struct gdb_stub *st);
struct gdb_pos gdb_position(struct gdb_stub *st);

/* gdb_reverse.c */
/* At the first stop: take the checkpoint when the run is deterministic. */
void gdb_history_begin(struct gdb_stub *st);
void gdb_history_end(struct gdb_stub *st);
/* Around an ordinary exit: mute output the run already printed once. */
void gdb_history_before_exit(struct gdb_stub *st);
void gdb_history_after_exit(struct gdb_stub *st);
/* reverse-stepi / reverse-continue: go back, set st->last_stop. */
void gdb_reverse(struct gdb_stub *st, bool step);

/* Remove every point from the vCPU (detach); re-add them (after an x86 step-over). */
void gdb_points_apply(struct gdb_stub *st, bool enable, bool watches_only);

#endif /* ANYHV_TOOLS_GDB_STUB_H */
