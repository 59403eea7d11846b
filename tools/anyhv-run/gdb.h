/* anyhv-run's gdb stub (--gdb PORT, --gdb-wait): the GDB remote serial protocol
 * over TCP, driving the guest through the public API only (hv_* plus the anyhv_
 * debugging extensions). Pieces, one job each:
 *   gdb_rsp.c     packets: framing, checksums, acknowledgements, hex, the socket
 *   gdb_stub.c    the commands gdb sends, and the run loop under the debugger
 *   gdb_x86.c     the Intel flavour's registers and target description
 *   gdb_arm64.c   the Apple-silicon flavour's registers and target description */
#ifndef ANYHV_TOOLS_GDB_H
#define ANYHV_TOOLS_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GDB_PACKET_MAX 16384u   /* PacketSize we announce; replies never exceed it */

/* ---- packet layer (gdb_rsp.c) ---- */
struct gdb_conn {
    int listen_fd, fd;
    bool no_ack;                /* QStartNoAckMode accepted */
};

/* Listen on 127.0.0.1:port; false (errno set) on failure. */
bool gdb_listen(struct gdb_conn *c, unsigned port);
/* Wait for gdb to connect; false on failure. */
bool gdb_accept(struct gdb_conn *c);
void gdb_close(struct gdb_conn *c);
/* Next packet's payload into buf (NUL-terminated, binary-unescaped): its length, 0 for
 * an interrupt request (^C) with buf = "\x03", -1 when gdb has gone. */
int gdb_recv(struct gdb_conn *c, char *buf, size_t size);
/* Send one packet (payload escaped as needed); false when gdb has gone. */
bool gdb_send(struct gdb_conn *c, const char *payload);
/* Whether gdb sent something within timeout_ms (nothing is read). */
bool gdb_readable(struct gdb_conn *c, int timeout_ms);
/* Consume an interrupt byte (^C) if it is the next byte; true when it was. */
bool gdb_take_interrupt(struct gdb_conn *c);

/* Hex helpers. */
void gdb_hex_encode(char *out, const uint8_t *in, size_t n);
/* Decodes 2n hex digits; false on a bad digit. */
bool gdb_hex_decode(uint8_t *out, const char *in, size_t n);
/* Parses hex digits at *p (advancing it); false when none. */
bool gdb_parse_hex(const char **p, uint64_t *out);

/* ---- the flavour's registers (gdb_x86.c or gdb_arm64.c) ---- */
struct gdb_reg {
    const char *name;
    uint16_t bits;
    const char *type;           /* gdb type name (predefined, or from the feature's types) */
    uint8_t feature;            /* index into gdb_target.features */
};

struct gdb_feature {
    const char *name;           /* e.g. "org.gnu.gdb.i386.core" */
    const char *types;          /* XML type definitions the feature's registers use, or "" */
};

struct gdb_target {
    const char *arch;           /* <architecture> */
    const struct gdb_feature *features;
    unsigned nfeatures;
    const struct gdb_reg *regs;
    unsigned nregs;
    /* x86 data breakpoints are traps (gdb expects the access done); arm64's are faults. */
    bool watch_after_access;
    /* Register n of the vCPU, little-endian, bits/8 bytes; false when unavailable. */
    bool (*reg_read)(uint64_t vcpu, unsigned n, uint8_t *out);
    bool (*reg_write)(uint64_t vcpu, unsigned n, const uint8_t *in);
    uint64_t (*pc)(uint64_t vcpu);
    /* From another thread: make the vCPU's run return soon. */
    void (*kick)(uint64_t vcpu);
    /* The description for the vCPU's mode now (x86: i386 outside long mode), taken
     * when gdb connects (its qSupported); NULL: always this one. */
    const struct gdb_target *(*for_vcpu)(uint64_t vcpu);
};

extern const struct gdb_target gdb_flavour_target;

/* The target description XML of t (built when t differs from the last one asked). */
const char *gdb_target_xml(const struct gdb_target *t);

/* ---- the debugger's run loop (gdb_stub.c) ---- */
struct run_session;
struct session_vcpu;
/* session_loop under gdb: listens on the --gdb port, runs the guest as gdb says. */
int gdb_session_loop(struct run_session *s, const struct session_vcpu *v);

#endif /* ANYHV_TOOLS_GDB_H */
