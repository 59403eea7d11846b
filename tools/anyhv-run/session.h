/* anyhv-run: the flavour-independent frame of a run (session.c); each flavour's VMM
 * embeds a run_session and supplies its machine layout and its exit handler. */
#ifndef ANYHV_TOOLS_RUN_SESSION_H
#define ANYHV_TOOLS_RUN_SESSION_H

#include <Hypervisor/hv_error.h>

#include "memhash.h"
#include "run.h"

struct run_session {
    const struct run_options *o;
    uint8_t *ram;
    uint64_t ram_base, ram_size;   /* guest-physical window of ram */
    struct run_stats stats;
    bool done;
    bool snapshot_pending;         /* --snapshot-at not reached yet */
    bool inputs_log;               /* the library's input log is open (FILE.inputs) */
    int status;
    struct memhash hash;           /* --hash-memory */
};

/* Where the flavour's machine puts RAM and images. */
struct session_layout {
    enum run_arch arch;
    uint64_t ram_base, reserved_below, default_load, min_ram;
    bool no_image;   /* the flavour loads the image itself (arm64 --kernel) */
};

/* How the loop runs the flavour's vCPU and handles each exit. */
struct session_vcpu {
    void *ctx;
    hv_return_t (*run)(void *ctx);
    void (*handle)(void *ctx);
    uint64_t handle_id;   /* the vCPU handle, for anyhv_vcpu_get_instructions */
    void *dev;            /* the machine's device state, saved in snapshots */
    size_t dev_size;
    void (*dev_save)(void *ctx);   /* fill dev before a save (NULL: dev is live state) */
    void (*dev_load)(void *ctx);   /* apply dev after a restore */
};

/* Backend, RAM and image; RUN_OK or the status to exit with. */
int session_prepare(struct run_session *s, const struct run_options *o, const struct session_layout *l,
                    uint64_t *entry);
void session_release(struct run_session *s);
/* Runs until an exit handler ends the session; prints the summary. */
int session_loop(struct run_session *s, const struct session_vcpu *v);
void session_end(struct run_session *s, int status);
/* --deterministic (on): the software route's mode for the next VM; RUN_OK or why not. */
int session_select_deterministic(bool on);
/* --record / --replay: the library's input log (FILE.inputs), opened once the VM and its
 * memory exist (*opened says whether); at the end it is closed and the console's record
 * written: the status, or RUN_UNAVAILABLE when either failed (a replay that diverged). */
int session_inputs_log_start(const struct run_options *o, bool *opened);
int session_record_end(const struct run_options *o, bool inputs_log, int status);
/* Reports a call the backend refused; RUN_UNAVAILABLE. */
int session_unavailable(const char *what, hv_return_t r);
/* --backend NAME: RUN_OK once chosen; RUN_UNAVAILABLE, after saying why, when this
 * machine cannot run it. */
int session_select_backend(const char *name);

#endif /* ANYHV_TOOLS_RUN_SESSION_H */
