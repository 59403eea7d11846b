/* gdb_cmds.c - what the gdb stub answers: queries and the target description, the
 * registers (through the flavour's table), memory by guest-virtual address (walked
 * through the guest's page tables by anyhv_vcpu_translate, then guest RAM), break-
 * and watchpoints (anyhv_vcpu_set_breakpoint/_watchpoint), monitor commands, and the
 * packets that resume or end the session. One gdb thread per vCPU (anyhv-run has one). */
#include <anyhv/anyhv.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gdb_stub.h"

#define XML_MAX 16384u
#define GDB_THREAD_ID 1u
#define MONITOR_TLB_SHOWN 32u
#define E_BAD "E01"
#define E_MEMORY "E14"

const char *gdb_target_xml(const struct gdb_target *t)
{
    static char xml[XML_MAX];
    static const struct gdb_target *built;
    if (built == t)
        return xml;
    built = t;
    size_t n = (size_t)snprintf(xml, sizeof(xml),
                                "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
                                "<target version=\"1.0\"><architecture>%s</architecture>",
                                t->arch);
    for (unsigned f = 0; f < t->nfeatures && n < sizeof(xml); f++) {
        unsigned used = 0;
        for (unsigned r = 0; r < t->nregs; r++)
            used += t->regs[r].feature == f;
        if (!used)
            continue;   /* a feature gdb knows must have its registers (i386: no segment bases) */
        n += (size_t)snprintf(xml + n, sizeof(xml) - n, "<feature name=\"%s\">%s", t->features[f].name,
                              t->features[f].types);
        for (unsigned r = 0; r < t->nregs && n < sizeof(xml); r++)
            if (t->regs[r].feature == f)
                n += (size_t)snprintf(xml + n, sizeof(xml) - n,
                                      "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"/>", t->regs[r].name,
                                      t->regs[r].bits, t->regs[r].type, r);
        if (n < sizeof(xml))
            n += (size_t)snprintf(xml + n, sizeof(xml) - n, "</feature>");
    }
    if (n < sizeof(xml))
        snprintf(xml + n, sizeof(xml) - n, "</target>");
    return xml;
}

/* qXfer:features:read:target.xml:OFFSET,LENGTH */
static void xfer_features(struct gdb_stub *st, const char *args)
{
    const char *p = strchr(args, ':');
    uint64_t off, len;
    if (strncmp(args, "target.xml:", 11) != 0 || !p || !gdb_parse_hex(&(const char *){ p + 1 }, &off)) {
        strcpy(st->out, E_BAD);
        return;
    }
    p = strchr(p, ',');
    if (!p || !gdb_parse_hex(&(const char *){ p + 1 }, &len)) {
        strcpy(st->out, E_BAD);
        return;
    }
    const char *xml = gdb_target_xml(st->t);
    size_t total = strlen(xml);
    if (len > GDB_PACKET_MAX - 2)
        len = GDB_PACKET_MAX - 2;
    if (off >= total) {
        strcpy(st->out, "l");
        return;
    }
    size_t n = total - off < len ? total - off : len;
    st->out[0] = off + n < total ? 'm' : 'l';
    memcpy(st->out + 1, xml + off, n);
    st->out[1 + n] = 0;
}

/* ---- registers ---- */

static void read_all_registers(struct gdb_stub *st)
{
    uint8_t buf[64];
    size_t n = 0;
    for (unsigned r = 0; r < st->t->nregs; r++) {
        unsigned bytes = st->t->regs[r].bits / 8;
        if (n + 2 * bytes >= sizeof(st->out))
            break;
        if (st->t->reg_read(st->v->handle_id, r, buf))
            gdb_hex_encode(st->out + n, buf, bytes);
        else
            memset(st->out + n, 'x', 2 * bytes);
        n += 2 * bytes;
    }
    st->out[n] = 0;
}

static void write_all_registers(struct gdb_stub *st, const char *hex)
{
    uint8_t buf[64];
    for (unsigned r = 0; r < st->t->nregs && *hex; r++) {
        unsigned bytes = st->t->regs[r].bits / 8;
        if (strlen(hex) < 2 * bytes)
            break;
        if (gdb_hex_decode(buf, hex, bytes))
            st->t->reg_write(st->v->handle_id, r, buf);
        hex += 2 * bytes;
    }
    strcpy(st->out, "OK");
}

static void read_register(struct gdb_stub *st, const char *args)
{
    uint64_t n;
    uint8_t buf[64];
    if (!gdb_parse_hex(&args, &n) || n >= st->t->nregs) {
        strcpy(st->out, E_BAD);
        return;
    }
    unsigned bytes = st->t->regs[n].bits / 8;
    if (st->t->reg_read(st->v->handle_id, (unsigned)n, buf))
        gdb_hex_encode(st->out, buf, bytes);
    else
        strcpy(st->out, E_BAD);
}

static void write_register(struct gdb_stub *st, const char *args)
{
    uint64_t n;
    uint8_t buf[64];
    if (!gdb_parse_hex(&args, &n) || n >= st->t->nregs || *args != '=') {
        strcpy(st->out, E_BAD);
        return;
    }
    unsigned bytes = st->t->regs[n].bits / 8;
    bool ok = strlen(args + 1) >= 2 * bytes && gdb_hex_decode(buf, args + 1, bytes) &&
              st->t->reg_write(st->v->handle_id, (unsigned)n, buf);
    strcpy(st->out, ok ? "OK" : E_BAD);
}

/* ---- memory: guest-virtual, through the guest's page tables ---- */

/* Host pointer of the bytes at guest-virtual va, at most `want` of them within one
 * page and RAM; NULL when va does not translate to RAM. */
static uint8_t *guest_bytes(struct gdb_stub *st, uint64_t va, uint64_t want, uint64_t *got)
{
    uint64_t gpa;
    if (anyhv_vcpu_translate(st->v->handle_id, va, &gpa) != HV_SUCCESS)
        return NULL;
    uint64_t page_left = 4096 - (va & 4095);
    if (gpa < st->s->ram_base || gpa - st->s->ram_base >= st->s->ram_size)
        return NULL;
    uint64_t off = gpa - st->s->ram_base, ram_left = st->s->ram_size - off;
    *got = want < page_left ? want : page_left;
    if (*got > ram_left)
        *got = ram_left;
    return st->s->ram + off;
}

static bool parse_addr_len(const char **p, uint64_t *addr, uint64_t *len)
{
    return gdb_parse_hex(p, addr) && *(*p)++ == ',' && gdb_parse_hex(p, len);
}

static void read_memory(struct gdb_stub *st, const char *args)
{
    uint64_t addr, len, done = 0;
    if (!parse_addr_len(&args, &addr, &len)) {
        strcpy(st->out, E_BAD);
        return;
    }
    if (len > (sizeof(st->out) - 1) / 2)
        len = (sizeof(st->out) - 1) / 2;
    while (done < len) {
        uint64_t got;
        uint8_t *h = guest_bytes(st, addr + done, len - done, &got);
        if (!h)
            break;
        gdb_hex_encode(st->out + 2 * done, h, got);
        done += got;
    }
    if (!done)
        strcpy(st->out, E_MEMORY);
}

static void write_memory(struct gdb_stub *st, const char *args)
{
    uint64_t addr, len, done = 0;
    if (!parse_addr_len(&args, &addr, &len) || *args++ != ':' || strlen(args) < 2 * len) {
        strcpy(st->out, E_BAD);
        return;
    }
    while (done < len) {
        uint64_t got;
        uint8_t *h = guest_bytes(st, addr + done, len - done, &got);
        if (!h || !gdb_hex_decode(h, args + 2 * done, got))
            break;
        done += got;
    }
    strcpy(st->out, done == len ? "OK" : E_MEMORY);
}

/* ---- breakpoints and watchpoints ---- */

static hv_return_t point_set(struct gdb_stub *st, const struct gdb_point *p, bool enable)
{
    static const anyhv_watch_kind_t kinds[] = { [GDB_WRITE_WATCH] = ANYHV_WATCH_WRITE,
                                                [GDB_READ_WATCH] = ANYHV_WATCH_READ,
                                                [GDB_ACCESS_WATCH] = ANYHV_WATCH_ACCESS };
    if (p->type == GDB_SW_BREAK || p->type == GDB_HW_BREAK)
        return anyhv_vcpu_set_breakpoint(st->v->handle_id, p->addr, enable);
    return anyhv_vcpu_set_watchpoint(st->v->handle_id, p->addr, p->len, kinds[p->type], enable);
}

void gdb_points_apply(struct gdb_stub *st, bool enable, bool watches_only)
{
    for (unsigned i = 0; i < st->npoints; i++)
        if (!watches_only || st->points[i].type >= GDB_WRITE_WATCH)
            point_set(st, &st->points[i], enable);
}

/* Z/z TYPE,ADDR,KIND */
static void point_packet(struct gdb_stub *st, const char *pkt)
{
    bool insert = pkt[0] == 'Z';
    const char *p = pkt + 1;
    uint64_t type, addr, kind;
    if (!gdb_parse_hex(&p, &type) || *p++ != ',' || !parse_addr_len(&p, &addr, &kind) || type > GDB_ACCESS_WATCH) {
        st->out[0] = 0;   /* a type we do not know: unsupported */
        return;
    }
    struct gdb_point pt = { addr, kind ? kind : 1, (enum gdb_point_type)type };
    unsigned i = 0;
    while (i < st->npoints && !(st->points[i].addr == addr && st->points[i].type == pt.type))
        i++;
    if (insert && i == st->npoints && st->npoints == GDB_MAX_POINTS) {
        strcpy(st->out, E_BAD);
        return;
    }
    hv_return_t r = point_set(st, &pt, insert);
    if (r != HV_SUCCESS) {
        strcpy(st->out, E_BAD);   /* KVM: no anyhv breakpoints (docs/gdb.md) */
        return;
    }
    if (insert && i == st->npoints)
        st->points[st->npoints++] = pt;
    else if (!insert && i < st->npoints)
        st->points[i] = st->points[--st->npoints];
    strcpy(st->out, "OK");
}

/* ---- monitor commands (qRcmd) ---- */

static size_t monitor_tlb(struct gdb_stub *st, char *text, size_t size)
{
    anyhv_tlb_entry_t e[MONITOR_TLB_SHOWN];
    uint32_t count = 0;
    if (anyhv_vcpu_get_tlb(st->v->handle_id, e, MONITOR_TLB_SHOWN, &count) != HV_SUCCESS)
        return (size_t)snprintf(text, size, "no software TLB on backend %s\n", anyhv_backend_name());
    size_t n = (size_t)snprintf(text, size, "TLB: %u entries\n", count);
    for (uint32_t i = 0; i < count && i < MONITOR_TLB_SHOWN && n < size; i++)
        n += (size_t)snprintf(text + n, size - n, "  va 0x%016" PRIx64 " -> pa 0x%012" PRIx64 " %c%c%c %s\n",
                              e[i].gva, e[i].gpa, e[i].perms & 1 ? 'r' : '-', e[i].perms & 2 ? 'w' : '-',
                              e[i].perms & 4 ? 'x' : '-', e[i].regime ? "user" : "priv");
    return n;
}

static void monitor(struct gdb_stub *st, const char *hex)
{
    char cmd[128] = { 0 }, text[4096];
    size_t len = strlen(hex) / 2, n = 0;
    if (len >= sizeof(cmd) || !gdb_hex_decode((uint8_t *)cmd, hex, len)) {
        strcpy(st->out, E_BAD);
        return;
    }
    uint64_t icount;
    if (!strcmp(cmd, "icount") || !strcmp(cmd, "insns")) {
        if (anyhv_vcpu_get_instructions(st->v->handle_id, &icount) == HV_SUCCESS)
            n = (size_t)snprintf(text, sizeof(text), "instructions retired: %" PRIu64 "\n", icount);
        else
            n = (size_t)snprintf(text, sizeof(text), "instructions are not counted on backend %s\n",
                                 anyhv_backend_name());
    } else if (!strcmp(cmd, "exits")) {
        const struct run_stats *s = &st->s->stats;
        n = (size_t)snprintf(text, sizeof(text), "exits: %" PRIu64 "\n", s->total);
        for (unsigned i = 0; i < RUN_STATS_KINDS && s->by_kind[i].kind && n < sizeof(text); i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "  %s %" PRIu64 "\n", s->by_kind[i].kind,
                                  s->by_kind[i].count);
    } else if (!strcmp(cmd, "tlb")) {
        n = monitor_tlb(st, text, sizeof(text));
    } else {
        n = (size_t)snprintf(text, sizeof(text),
                             "anyhv monitor commands: icount (instructions retired), exits (by kind), tlb\n");
    }
    if (n >= sizeof(text))
        n = sizeof(text) - 1;
    gdb_hex_encode(st->out, (const uint8_t *)text, n);
}

/* ---- queries ---- */

static void query(struct gdb_stub *st, const char *pkt)
{
    if (!strncmp(pkt, "qSupported", 10)) {
        /* A new gdb: the registers it will be told of are those of the vCPU's mode now. */
        if (st->t->for_vcpu)
            st->t = st->t->for_vcpu(st->v->handle_id);
        snprintf(st->out, sizeof(st->out), "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+%s",
                 GDB_PACKET_MAX, st->history ? ";ReverseStep+;ReverseContinue+" : "");
    } else if (!strncmp(pkt, "qXfer:features:read:", 20))
        xfer_features(st, pkt + 20);
    else if (!strcmp(pkt, "qAttached"))
        strcpy(st->out, "1");
    else if (!strcmp(pkt, "qC"))
        snprintf(st->out, sizeof(st->out), "QC%x", GDB_THREAD_ID);
    else if (!strcmp(pkt, "qfThreadInfo"))
        snprintf(st->out, sizeof(st->out), "m%x", GDB_THREAD_ID);
    else if (!strcmp(pkt, "qsThreadInfo"))
        strcpy(st->out, "l");
    else if (!strncmp(pkt, "qRcmd,", 6))
        monitor(st, pkt + 6);
    else if (!strncmp(pkt, "qThreadExtraInfo,", 17))
        gdb_hex_encode(st->out, (const uint8_t *)"vCPU 0", 6);
    else
        st->out[0] = 0;
}

bool gdb_handle_packet(struct gdb_stub *st, const char *pkt, enum gdb_action *act)
{
    st->out[0] = 0;
    switch (pkt[0]) {
    case '?': strcpy(st->out, st->last_stop); break;
    case 'g': read_all_registers(st); break;
    case 'G': write_all_registers(st, pkt + 1); break;
    case 'p': read_register(st, pkt + 1); break;
    case 'P': write_register(st, pkt + 1); break;
    case 'm': read_memory(st, pkt + 1); break;
    case 'M': write_memory(st, pkt + 1); break;
    case 'Z':
    case 'z': point_packet(st, pkt); break;
    case 'q': query(st, pkt); break;
    case 'H':
    case 'T': strcpy(st->out, "OK"); break;
    case 'Q':
        if (!strcmp(pkt, "QStartNoAckMode"))
            strcpy(st->out, "OK");
        break;
    case 'c': *act = GDB_CONTINUE; return true;
    case 's':
        /* A step is an instruction budget of one: the software route's. */
        if (anyhv_vcpu_set_instruction_budget(st->v->handle_id, 0) != HV_SUCCESS) {
            strcpy(st->out, E_BAD);
            break;
        }
        *act = GDB_STEP;
        return true;
    case 'b':
        if (st->history && (!strcmp(pkt, "bs") || !strcmp(pkt, "bc"))) {
            *act = pkt[1] == 's' ? GDB_REVERSE_STEP : GDB_REVERSE_CONTINUE;
            return true;
        }
        strcpy(st->out, st->history ? "" : "E01");   /* no history: not a deterministic run */
        break;
    case 'k': *act = GDB_KILL; return true;
    case 'D': strcpy(st->out, "OK"); *act = GDB_DETACH; return true;
    default: break;   /* unsupported: empty reply */
    }
    return false;
}
