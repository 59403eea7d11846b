/* snapfile.c - anyhv snapshot files for the divergence finder: loading with the same
 * checks the library's loader makes, and an architectural comparison: named registers
 * first (so a report reads "rax: 0x5 vs 0x6"), then every other byte of the state
 * struct except the soft CPU's scratch fields (its lazily kept flags and segment-limit
 * cache, which two correct engines may hold differently), then guest memory. The state
 * layout comes from the library's own headers: both snapshots must come from builds
 * with this layout (the header's sizes are checked). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/a64_state.h"
#include "core/x86_state.h"
#include "snapfile.h"

#define HEADER_BYTES 64u
#define VCPU_REC_BYTES 32u   /* id, reserved, icount, idle credit, exec time */
#define SNAP_FORMAT 2u
#define REGION_REC_BYTES 24u
#define CHECKSUM_OFFSET 56u

struct field {
    const char *name;
    uint32_t offset, size;
};

#define F(name, member) { name, (uint32_t)offsetof(struct x86_state, member), sizeof(((struct x86_state *)0)->member) }
static const struct field x86_fields[] = {
    F("rax", gpr[0]), F("rcx", gpr[1]), F("rdx", gpr[2]), F("rbx", gpr[3]), F("rsp", gpr[4]), F("rbp", gpr[5]),
    F("rsi", gpr[6]), F("rdi", gpr[7]), F("r8", gpr[8]), F("r9", gpr[9]), F("r10", gpr[10]), F("r11", gpr[11]),
    F("r12", gpr[12]), F("r13", gpr[13]), F("r14", gpr[14]), F("r15", gpr[15]), F("rip", rip),
    F("rflags", rflags), F("es", seg[0]), F("cs", seg[1]), F("ss", seg[2]), F("ds", seg[3]), F("fs", seg[4]),
    F("gs", seg[5]), F("ldtr", seg[6]), F("tr", seg[7]), F("gdtr", gdtr), F("idtr", idtr), F("cr0", cr0),
    F("cr2", cr2), F("cr3", cr3), F("cr4", cr4), F("cr8", cr8), F("xcr0", xcr0), F("dr0-7", dr),
    F("msrs", msr), F("activity", activity_state), F("interruptibility", interruptibility),
    F("pending_dbg", pending_dbg), F("st0-7", fpu.st), F("fcw", fpu.fcw), F("fsw", fpu.fsw), F("ftw", fpu.ftw),
    F("fop", fpu.fop), F("fip", fpu.fip), F("fdp", fpu.fdp), F("mxcsr", fpu.mxcsr), F("xmm0-15", fpu.xmm),
};
/* Soft CPU scratch: not architectural (packed into rflags / derived from seg[]). */
static const struct field x86_scratch[] = { F("", soft), F("", soft_seg) };
#undef F

#define F(name, member) { name, (uint32_t)offsetof(struct a64_state, member), sizeof(((struct a64_state *)0)->member) }
static const struct field a64_fields[] = {
    F("x0", x[0]), F("x1", x[1]), F("x2", x[2]), F("x3", x[3]), F("x4", x[4]), F("x5", x[5]), F("x6", x[6]),
    F("x7", x[7]), F("x8", x[8]), F("x9", x[9]), F("x10", x[10]), F("x11", x[11]), F("x12", x[12]),
    F("x13", x[13]), F("x14", x[14]), F("x15", x[15]), F("x16", x[16]), F("x17", x[17]), F("x18", x[18]),
    F("x19", x[19]), F("x20", x[20]), F("x21", x[21]), F("x22", x[22]), F("x23", x[23]), F("x24", x[24]),
    F("x25", x[25]), F("x26", x[26]), F("x27", x[27]), F("x28", x[28]), F("x29", x[29]), F("x30", x[30]),
    F("sp", sp), F("pc", pc), F("pstate", pstate), F("fpcr", fpcr), F("fpsr", fpsr), F("v0-31", v),
    F("sctlr_el1", sys.sctlr_el1), F("ttbr0_el1", sys.ttbr0_el1), F("ttbr1_el1", sys.ttbr1_el1),
    F("tcr_el1", sys.tcr_el1), F("spsr_el1", sys.spsr_el1), F("elr_el1", sys.elr_el1), F("sp_el0", sys.sp_el0),
    F("sp_el1", sys.sp_el1), F("esr_el1", sys.esr_el1), F("far_el1", sys.far_el1), F("vbar_el1", sys.vbar_el1),
};
#undef F

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static bool parse(struct snapfile *s, char *err, size_t errlen)
{
    const uint8_t *h = s->buf;
    if (s->len < HEADER_BYTES || memcmp(h, "ANYHVSNP", 8) != 0 || rd32(h + 8) != SNAP_FORMAT) {
        snprintf(err, errlen, "not an anyhv snapshot of format %u", SNAP_FORMAT);
        return false;
    }
    uint8_t zero[8] = { 0 };
    uint64_t sum = fnv(fnv(fnv(0xcbf29ce484222325ull, h, CHECKSUM_OFFSET), zero, 8), h + HEADER_BYTES,
                       s->len - HEADER_BYTES);
    if (rd64(h + 40) != s->len || sum != rd64(h + CHECKSUM_OFFSET)) {
        snprintf(err, errlen, "truncated or corrupted snapshot");
        return false;
    }
    s->flavour = rd32(h + 12);
    s->state_size = rd32(h + 16);
    s->ext_size = rd32(h + 20);
    s->nvcpus = rd32(h + 24);
    s->nregions = rd32(h + 28);
    size_t want = s->flavour == 0 ? sizeof(struct x86_state) : sizeof(struct a64_state);
    if (s->flavour > 1 || s->state_size != want || s->nvcpus > SNAPFILE_MAX_VCPUS ||
        s->nregions > SNAPFILE_MAX_REGIONS) {
        snprintf(err, errlen, "snapshot from a build with another state layout, or too large for this tool");
        return false;
    }
    size_t at = HEADER_BYTES;
    for (uint32_t i = 0; i < s->nvcpus; i++) {
        if (s->len - at < VCPU_REC_BYTES + (size_t)s->state_size + s->ext_size)
            goto short_file;
        s->vcpu[i].id = rd32(s->buf + at);
        s->vcpu[i].icount = rd64(s->buf + at + 8);
        s->vcpu[i].state = s->buf + at + VCPU_REC_BYTES;
        at += VCPU_REC_BYTES + (size_t)s->state_size + s->ext_size;
    }
    for (uint32_t i = 0; i < s->nregions; i++) {
        if (s->len - at < REGION_REC_BYTES)
            goto short_file;
        s->region[i].space = rd32(s->buf + at);
        s->region[i].gpa = rd64(s->buf + at + 8);
        s->region[i].size = rd64(s->buf + at + 16);
        at += REGION_REC_BYTES;
        if (s->len - at < s->region[i].size)
            goto short_file;
        s->region[i].bytes = s->buf + at;
        at += s->region[i].size;
    }
    return true;
short_file:
    snprintf(err, errlen, "snapshot records run past the end of the file");
    return false;
}

bool snapfile_load(const char *path, struct snapfile *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return false;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    s->buf = len > 0 ? malloc((size_t)len) : NULL;
    bool ok = s->buf && fread(s->buf, 1, (size_t)len, f) == (size_t)len;
    fclose(f);
    s->len = ok ? (size_t)len : 0;
    if (!ok) {
        snprintf(err, errlen, "cannot read %s", path);
        return false;
    }
    return parse(s, err, errlen);
}

void snapfile_free(struct snapfile *s)
{
    free(s->buf);
    memset(s, 0, sizeof(*s));
}

static void print_value(FILE *f, const uint8_t *p, uint32_t size)
{
    if (size <= 8) {
        uint64_t v = 0;
        memcpy(&v, p, size);
        fprintf(f, "0x%llx", (unsigned long long)v);
        return;
    }
    for (uint32_t i = 0; i < size && i < 32; i++)
        fprintf(f, "%02x", p[size - 1 - i]);
    if (size > 32)
        fprintf(f, "...");
}

static bool in_fields(const struct field *t, size_t n, uint32_t off)
{
    for (size_t i = 0; i < n; i++)
        if (off >= t[i].offset && off < t[i].offset + t[i].size)
            return true;
    return false;
}

/* Differences of one vCPU's state; returns how many were found. */
static unsigned compare_state(const struct snapfile *a, unsigned v, const uint8_t *sa, const uint8_t *sb,
                              FILE *report, unsigned *lines, unsigned max_lines)
{
    const struct field *named = a->flavour == 0 ? x86_fields : a64_fields;
    size_t nnamed = a->flavour == 0 ? sizeof(x86_fields) / sizeof(x86_fields[0]) : sizeof(a64_fields) / sizeof(a64_fields[0]);
    const struct field *scratch = a->flavour == 0 ? x86_scratch : NULL;
    size_t nscratch = a->flavour == 0 ? sizeof(x86_scratch) / sizeof(x86_scratch[0]) : 0;
    unsigned diffs = 0;
    for (size_t i = 0; i < nnamed; i++) {
        const struct field *fl = &named[i];
        if (!memcmp(sa + fl->offset, sb + fl->offset, fl->size))
            continue;
        diffs++;
        if (report && (*lines)++ < max_lines) {
            fprintf(report, "  vCPU %u %s: A ", v, fl->name);
            print_value(report, sa + fl->offset, fl->size);
            fprintf(report, ", B ");
            print_value(report, sb + fl->offset, fl->size);
            fprintf(report, "\n");
        }
    }
    for (uint32_t off = 0; off < a->state_size; off++) {
        if (sa[off] == sb[off] || in_fields(named, nnamed, off) || in_fields(scratch, nscratch, off))
            continue;
        diffs++;
        if (report && (*lines)++ < max_lines)
            fprintf(report, "  vCPU %u state byte +0x%x: A 0x%02x, B 0x%02x\n", v, off, sa[off], sb[off]);
    }
    return diffs;
}

bool snapfile_equal(const struct snapfile *a, const struct snapfile *b, FILE *report, unsigned max_lines)
{
    unsigned lines = 0, diffs = 0;
    if (a->flavour != b->flavour || a->nvcpus != b->nvcpus || a->nregions != b->nregions) {
        if (report)
            fprintf(report, "  the two VMs differ in flavour, vCPUs or memory regions\n");
        return false;
    }
    for (uint32_t i = 0; i < a->nvcpus; i++)
        diffs += compare_state(a, a->vcpu[i].id, a->vcpu[i].state, b->vcpu[i].state, report, &lines, max_lines);
    for (uint32_t r = 0; r < a->nregions; r++) {
        if (a->region[r].gpa != b->region[r].gpa || a->region[r].size != b->region[r].size) {
            diffs++;
            continue;
        }
        for (uint64_t off = 0; off < a->region[r].size; off++) {
            if (a->region[r].bytes[off] == b->region[r].bytes[off])
                continue;
            diffs++;
            if (report && lines++ < max_lines)
                fprintf(report, "  memory 0x%llx: A 0x%02x, B 0x%02x\n",
                        (unsigned long long)(a->region[r].gpa + off), a->region[r].bytes[off], b->region[r].bytes[off]);
        }
    }
    return diffs == 0;
}

uint64_t snapfile_pc(const struct snapfile *s, unsigned i)
{
    const uint8_t *st = s->vcpu[i].state;
    if (s->flavour == 0) {
        uint64_t rip, cs_base;
        memcpy(&rip, st + offsetof(struct x86_state, rip), 8);
        memcpy(&cs_base, st + offsetof(struct x86_state, seg[X86_CS].base), 8);
        return cs_base + rip;
    }
    return rd64(st + offsetof(struct a64_state, pc));
}

const uint8_t *snapfile_phys(const struct snapfile *s, uint64_t gpa, size_t *n)
{
    for (uint32_t r = 0; r < s->nregions; r++) {
        if (s->region[r].space == 0 && gpa >= s->region[r].gpa && gpa - s->region[r].gpa < s->region[r].size) {
            *n = (size_t)(s->region[r].size - (gpa - s->region[r].gpa));
            return s->region[r].bytes + (gpa - s->region[r].gpa);
        }
    }
    return NULL;
}
