/* Snapshots (include/anyhv/snapshot.h): the VM's vCPU state structs, personality data
 * and instruction counts, every mapped region's bytes, the VM's time and scheduler, the
 * in-framework interrupt controllers, and the client's data, in one checksummed file.
 * Layout (all little-endian, docs/snapshots.md):
 *   header    struct snap_header (magic, format, flavour, layout sizes, counts, length,
 *             FNV-1a 64 checksum of the whole file taken with the checksum field zero)
 *   vCPUs     vcpu_count x { struct snap_vcpu, state[state_size], ext[ext_size] }
 *   regions   region_count x { struct snap_region, bytes[size] }
 *   sections  section_count x { struct snap_section, bytes[size] }: the VM's time
 *             (SNAP_SEC_TIME) and the devices (the tag of vm->devstate)
 *   client    client_len bytes
 * Restoring validates the whole file (checksum, every bound, the VM's shape, each
 * section through its owner) before it changes anything, so a bad file never leaves a
 * half-restored VM. */
#include <anyhv/anyhv.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vm.h"

#define SNAP_MAGIC "ANYHVSNP"
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define ERR_MAX 256

struct snap_header {
    char magic[8];
    uint32_t format;
    uint32_t flavour;          /* enum guest_arch */
    uint32_t state_size;       /* sizeof the architecture's state struct in the writer */
    uint32_t ext_size;         /* sizeof the personality data in the writer */
    uint32_t vcpu_count;
    uint32_t region_count;
    uint64_t client_len;
    uint64_t total_len;        /* the whole file */
    uint32_t library_version;
    uint32_t section_count;
    uint64_t checksum;
};
_Static_assert(sizeof(struct snap_header) == 64, "header layout is part of the format");

struct snap_vcpu {
    uint32_t id, reserved;
    uint64_t icount;
    uint64_t idle_insns;       /* deterministic mode's idle credit (part of its clock) */
    uint64_t exec_time_ns;
};

/* A tagged section after the regions. */
struct snap_section {
    uint32_t tag, reserved;
    uint64_t size;
};

/* SNAP_SEC_TIME: the VM clock and deterministic mode's rotation, so timers armed in VM
 * time stay due at the same instant and the next vCPU to run is the same one. */
#define SNAP_SEC_TIME 1u
struct snap_time {
    uint64_t vm_ns;            /* the VM clock (clock_now_ns without a vCPU) */
    uint32_t det;              /* saved in deterministic mode: turn and used are set */
    uint32_t turn;
    uint64_t used;
};

/* SNAP_SEC_IDLE (deterministic mode): the idle vCPUs' state (struct det_idle_state). */
#define SNAP_SEC_IDLE 2u

struct snap_region {
    uint32_t space, perms;
    uint64_t gpa, size;
};

static _Thread_local char snap_err[ERR_MAX];

const char *anyhv_snapshot_error(void)
{
    return snap_err;
}

static hv_return_t fail(hv_return_t r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(snap_err, sizeof(snap_err), fmt, ap);
    va_end(ap);
    return r;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

static size_t state_size(enum guest_arch arch)
{
    return arch == GUEST_X86_64 ? sizeof(struct x86_state) : sizeof(struct a64_state);
}

static size_t ext_size(enum guest_arch arch)
{
    return arch == GUEST_X86_64 ? sizeof(struct vcpu_x86_ext) : sizeof(struct vcpu_a64_ext);
}

/* Called with the VM lock and the rotation held (det_hold): no vCPU may be inside
 * hv_vcpu_run while its state is read or replaced, and none enters until the end
 * (vm_quiesce: one that tries waits). In deterministic mode a vCPU parked in
 * hv_vcpu_run, waiting for its turn, does not count: it is outside the backend, and the
 * held rotation keeps it there; it goes on from whatever state it finds. */
static bool quiesce(struct vm *vm)
{
    return vm_quiesce(vm, true);
}

/* ---- save ---- */

struct writer {
    FILE *f;
    uint64_t hash;
    bool ok;
};

static void put(struct writer *w, const void *p, size_t n)
{
    if (n == 0)
        return;   /* no client data: p may be NULL, which fwrite must not see */
    w->hash = fnv(w->hash, p, n);
    if (w->ok && fwrite(p, 1, n, w->f) != n)
        w->ok = false;
}

static void header_for(struct vm *vm, size_t client_len, struct snap_header *h)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, SNAP_MAGIC, sizeof(h->magic));
    h->format = ANYHV_SNAPSHOT_FORMAT;
    h->flavour = vm->arch;
    h->state_size = (uint32_t)state_size(vm->arch);
    h->ext_size = (uint32_t)ext_size(vm->arch);
    h->client_len = client_len;
    h->library_version = ANYHV_VERSION;
    uint64_t total = sizeof(*h) + client_len;
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        if (atomic_load(&vm->vcpus[i])) {
            h->vcpu_count++;
            total += sizeof(struct snap_vcpu) + h->state_size + h->ext_size;
        }
    }
    for (uint32_t s = 0; s < ANYHV_MAX_SPACES; s++) {
        for (size_t r = 0; vm->spaces[s] && r < vm->spaces[s]->count; r++) {
            h->region_count++;
            total += sizeof(struct snap_region) + vm->spaces[s]->ranges[r].size;
        }
    }
    h->section_count = 1;
    total += sizeof(struct snap_section) + sizeof(struct snap_time);
    if (vm->det) {
        h->section_count++;
        total += sizeof(struct snap_section) + sizeof(struct det_idle_state);
    }
    if (vm->devstate) {
        h->section_count++;
        total += sizeof(struct snap_section) + vm->devstate->size(vm);
    }
    h->total_len = total;
}

static void put_section(struct writer *w, uint32_t tag, const void *p, size_t n)
{
    struct snap_section sec = { .tag = tag, .size = n };
    put(w, &sec, sizeof(sec));
    put(w, p, n);
}

static hv_return_t write_sections(struct vm *vm, struct writer *w)
{
    struct snap_time t = { .vm_ns = clock_now_ns(&vm->clock, NULL), .det = vm->det != NULL };
    if (vm->det)
        det_save(vm, &t.turn, &t.used);
    put_section(w, SNAP_SEC_TIME, &t, sizeof(t));
    if (vm->det) {
        struct det_idle_state idle;
        det_save_idle(vm, &idle);
        put_section(w, SNAP_SEC_IDLE, &idle, sizeof(idle));
    }
    if (!vm->devstate)
        return HV_SUCCESS;
    size_t n = vm->devstate->size(vm);
    void *buf = calloc(1, n ? n : 1);
    if (!buf)
        return fail(HV_NO_RESOURCES, "no memory for the devices' state (%zu bytes)", n);
    vm->devstate->save(vm, buf);
    put_section(w, vm->devstate->tag, buf, n);
    free(buf);
    return HV_SUCCESS;
}

static hv_return_t write_vm(struct vm *vm, FILE *f, const void *client, size_t client_len)
{
    struct snap_header h;
    header_for(vm, client_len, &h);
    struct writer w = { f, FNV_OFFSET, true };
    put(&w, &h, sizeof(h));
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (!v)
            continue;
        hv_return_t r = vcpu_state_load(v, SG_ALL);
        if (r != HV_SUCCESS)
            return fail(r, "cannot read the state of vCPU %u", i);
        struct snap_vcpu rec = { .id = i, .icount = v->icount, .idle_insns = v->idle_insns,
                                 .exec_time_ns = v->exec_time_ns };
        put(&w, &rec, sizeof(rec));
        put(&w, v->st.x86, h.state_size);
        /* Host pointers stay out of the file: they mean nothing in another process. */
        union { struct vcpu_x86_ext x86; struct vcpu_a64_ext a64; } ext;
        memcpy(&ext, &v->ext, sizeof(ext));
        if (vm->arch == GUEST_ARM64)
            ext.a64.client_exit = NULL;
        else
            ext.x86.lapic = NULL;
        put(&w, &ext, h.ext_size);
    }
    for (uint32_t s = 0; s < ANYHV_MAX_SPACES; s++) {
        for (size_t r = 0; vm->spaces[s] && r < vm->spaces[s]->count; r++) {
            const struct pmap_range *pr = &vm->spaces[s]->ranges[r];
            struct snap_region rec = { .space = s, .perms = pr->perms, .gpa = pr->gpa, .size = pr->size };
            put(&w, &rec, sizeof(rec));
            put(&w, pr->host, pr->size);
        }
    }
    hv_return_t r = write_sections(vm, &w);
    if (r != HV_SUCCESS)
        return r;
    put(&w, client, client_len);
    h.checksum = w.hash;
    if (!w.ok || fseek(f, 0, SEEK_SET) != 0 || fwrite(&h, 1, sizeof(h), f) != sizeof(h))
        return fail(HV_ERROR, "cannot write the snapshot: %s", strerror(errno));
    return HV_SUCCESS;
}

/* The stream for an opened snapshot file, emptied first when it is a regular file
 * (a device such as /dev/null is written as it is); NULL on failure. */
static FILE *start_file(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || (S_ISREG(st.st_mode) && ftruncate(fd, 0) != 0))
        return NULL;
    return fdopen(fd, "wb");
}

static hv_return_t save_held(struct vm *vm, const char *path, const void *client, size_t client_len)
{
    snap_err[0] = 0;
    if (!path || !vm || client_len > ANYHV_SNAPSHOT_CLIENT_MAX || (client_len && !client))
        return fail(HV_BAD_ARGUMENT, "bad argument (path, VM or client data)");
    /* Opened before the VM lock (opening a FIFO waits for its reader), emptied only
     * once the VM is known to be still: a busy save leaves an earlier snapshot at
     * `path` as it was. */
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return fail(HV_ERROR, "cannot create '%s': %s", path, strerror(errno));
    FILE *f = NULL;
    pthread_mutex_lock(&vm->lock);
    det_hold(vm);
    det_settle(vm);
    hv_return_t r = HV_SUCCESS;
    if (!quiesce(vm))
        r = fail(HV_BUSY, "a vCPU is running");
    else if (!(f = start_file(fd)))
        r = fail(HV_ERROR, "cannot write '%s': %s", path, strerror(errno));
    else
        r = write_vm(vm, f, client, client_len);
    vm_unquiesce(vm);
    det_release(vm);
    pthread_mutex_unlock(&vm->lock);
    if (!f)
        close(fd);
    else if (fclose(f) != 0 && r == HV_SUCCESS)
        r = fail(HV_ERROR, "cannot write '%s': %s", path, strerror(errno));
    return r;
}

/* Both calls hold the VM throughout: hv_vm_destroy waits for them. */
hv_return_t anyhv_vm_snapshot_save(const char *path, const void *client, size_t client_len)
{
    hv_return_t r = save_held(vm_hold(), path, client, client_len);
    vm_release();
    return r;
}

/* ---- restore ---- */

/* A bounds-checked cursor over the file. */
struct reader {
    const uint8_t *p;
    uint64_t left;
};

static const void *take(struct reader *rd, uint64_t n)
{
    if (n > rd->left)
        return NULL;
    const void *at = rd->p;
    rd->p += n;
    rd->left -= n;
    return at;
}

static hv_return_t check_header(struct vm *vm, const uint8_t *buf, uint64_t len, struct snap_header *h)
{
    if (len < sizeof(*h))
        return fail(HV_BAD_ARGUMENT, "not an anyhv snapshot: %llu bytes, shorter than the header",
                    (unsigned long long)len);
    memcpy(h, buf, sizeof(*h));
    if (memcmp(h->magic, SNAP_MAGIC, sizeof(h->magic)) != 0)
        return fail(HV_BAD_ARGUMENT, "not an anyhv snapshot (bad magic)");
    if (h->format != ANYHV_SNAPSHOT_FORMAT)
        return fail(HV_BAD_ARGUMENT, "snapshot format %u; this library reads format %u", h->format,
                    ANYHV_SNAPSHOT_FORMAT);
    if (h->flavour != (uint32_t)vm->arch)
        return fail(HV_BAD_ARGUMENT, "snapshot of an %s VM; this VM is %s", h->flavour ? "arm64" : "x86_64",
                    vm->arch == GUEST_ARM64 ? "arm64" : "x86_64");
    if (h->state_size != state_size(vm->arch) || h->ext_size != ext_size(vm->arch))
        return fail(HV_BAD_ARGUMENT, "snapshot written by another anyhv build (state layout %u/%u bytes, here %zu/%zu)",
                    h->state_size, h->ext_size, state_size(vm->arch), ext_size(vm->arch));
    if (h->total_len != len)
        return fail(HV_BAD_ARGUMENT, "snapshot truncated or extended: %llu bytes, the header says %llu",
                    (unsigned long long)len, (unsigned long long)h->total_len);
    struct snap_header zeroed = *h;
    zeroed.checksum = 0;
    uint64_t sum = fnv(fnv(FNV_OFFSET, &zeroed, sizeof(zeroed)), buf + sizeof(zeroed), len - sizeof(zeroed));
    if (sum != h->checksum)
        return fail(HV_BAD_ARGUMENT, "snapshot corrupted (checksum mismatch)");
    return HV_SUCCESS;
}

/* Where each record lives, found and checked before anything is applied. */
struct plan {
    struct snap_vcpu vcpu[ANYHV_MAX_VCPUS];
    const uint8_t *state[ANYHV_MAX_VCPUS], *ext[ANYHV_MAX_VCPUS];
    uint32_t nvcpus;
    struct snap_time time;
    struct det_idle_state idle;
    bool have_idle;
    const uint8_t *dev;
    uint64_t dev_size;
};

static hv_return_t plan_vcpus(struct vm *vm, const struct snap_header *h, struct reader *rd, struct plan *pl)
{
    if (h->vcpu_count != vm->vcpu_count)
        return fail(HV_BAD_ARGUMENT, "snapshot has %u vCPUs, this VM %u", h->vcpu_count, vm->vcpu_count);
    for (uint32_t i = 0; i < h->vcpu_count; i++) {
        /* Records are copied out: nothing in the file is assumed aligned. */
        const void *raw = take(rd, sizeof(struct snap_vcpu));
        const uint8_t *st = raw ? take(rd, h->state_size) : NULL, *ext = st ? take(rd, h->ext_size) : NULL;
        if (!ext)
            return fail(HV_BAD_ARGUMENT, "snapshot truncated in vCPU record %u", i);
        struct snap_vcpu *rec = &pl->vcpu[i];
        memcpy(rec, raw, sizeof(*rec));
        if (rec->id >= ANYHV_MAX_VCPUS || !atomic_load(&vm->vcpus[rec->id]))
            return fail(HV_BAD_ARGUMENT, "snapshot has vCPU %u, which this VM lacks", rec->id);
        for (uint32_t j = 0; j < i; j++)
            if (pl->vcpu[j].id == rec->id)
                return fail(HV_BAD_ARGUMENT, "snapshot has vCPU %u twice", rec->id);
        pl->state[i] = st;
        pl->ext[i] = ext;
    }
    pl->nvcpus = h->vcpu_count;
    return HV_SUCCESS;
}

static hv_return_t check_regions(struct vm *vm, const struct snap_header *h, struct reader *rd)
{
    for (uint32_t i = 0; i < h->region_count; i++) {
        struct snap_region rec;
        const void *raw = take(rd, sizeof(rec));
        if (raw)
            memcpy(&rec, raw, sizeof(rec));
        if (!raw || !take(rd, rec.size))
            return fail(HV_BAD_ARGUMENT, "snapshot truncated in memory region %u", i);
        const struct pmap *pm = rec.space < ANYHV_MAX_SPACES ? vm->spaces[rec.space] : NULL;
        if (!pm || rec.size == 0 || !pmap_host_ptr(pm, rec.gpa, rec.size, 0))
            return fail(HV_BAD_ARGUMENT,
                        "snapshot memory at guest-physical 0x%llx (+0x%llx, space %u) is not mapped in this VM",
                        (unsigned long long)rec.gpa, (unsigned long long)rec.size, rec.space);
    }
    return HV_SUCCESS;
}

static hv_return_t plan_sections(struct vm *vm, const struct snap_header *h, struct reader *rd, struct plan *pl)
{
    bool have_time = false;
    for (uint32_t i = 0; i < h->section_count; i++) {
        struct snap_section sec;
        const void *raw = take(rd, sizeof(sec));
        if (raw)
            memcpy(&sec, raw, sizeof(sec));
        const uint8_t *body = raw ? take(rd, sec.size) : NULL;
        if (!body)
            return fail(HV_BAD_ARGUMENT, "snapshot truncated in section %u", i);
        if (sec.tag == SNAP_SEC_TIME && sec.size == sizeof(pl->time) && !have_time) {
            memcpy(&pl->time, body, sizeof(pl->time));
            have_time = true;
        } else if (vm->det && sec.tag == SNAP_SEC_IDLE && sec.size == sizeof(pl->idle) && !pl->have_idle) {
            memcpy(&pl->idle, body, sizeof(pl->idle));
            pl->have_idle = true;
        } else if (vm->devstate && sec.tag == vm->devstate->tag && !pl->dev) {
            pl->dev = body;
            pl->dev_size = sec.size;
        } else {
            return fail(HV_BAD_ARGUMENT, "snapshot section %u (tag %u, %llu bytes) does not belong to this VM", i,
                        sec.tag, (unsigned long long)sec.size);
        }
    }
    if (!have_time)
        return fail(HV_BAD_ARGUMENT, "snapshot lacks the VM's time");
    if (pl->time.det && pl->time.turn >= ANYHV_MAX_VCPUS)
        return fail(HV_BAD_ARGUMENT, "snapshot names vCPU %u as the next to run", pl->time.turn);
    if (vm->devstate && !pl->dev)
        return fail(HV_BAD_ARGUMENT, "snapshot has no state for this VM's in-framework interrupt controllers");
    char err[ERR_MAX] = "";
    if (pl->dev && !vm->devstate->restore(vm, pl->dev, pl->dev_size, false, err, sizeof(err)))
        return fail(HV_BAD_ARGUMENT, "snapshot of the interrupt controllers refused: %s", err);
    return HV_SUCCESS;
}

/* The VM clock goes on from the saved instant (host time: its origin moves; virtual
 * time comes with the vCPUs' counts); deterministic mode's rotation from the saved turn. */
static void apply_time(struct vm *vm, const struct snap_time *t)
{
    uint64_t now = host_monotonic_ns();
    if (vm->clock.source == CLOCK_SOURCE_HOST && t->vm_ns <= now)
        vm->clock.origin_ns = now - t->vm_ns;
    if (vm->det && t->det)
        det_restore(vm, t->turn, t->used);
}

static void apply(struct vm *vm, const struct snap_header *h, const struct plan *pl, const uint8_t *regions)
{
    struct reader rd = { regions, UINT64_MAX };
    for (uint32_t i = 0; i < h->region_count; i++) {
        struct snap_region rec;
        memcpy(&rec, take(&rd, sizeof(rec)), sizeof(rec));
        memcpy(pmap_host_ptr(vm->spaces[rec.space], rec.gpa, rec.size, 0), take(&rd, rec.size), rec.size);
    }
    for (uint32_t i = 0; i < pl->nvcpus; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[pl->vcpu[i].id]);
        memcpy(v->st.x86, pl->state[i], h->state_size);
        /* The client's exit record and the vCPU's APIC stay its own (pointers). */
        void *client_exit = v->ext.a64.client_exit, *lapic = v->ext.x86.lapic;
        memcpy(&v->ext, pl->ext[i], h->ext_size);
        if (vm->arch == GUEST_ARM64) {
            v->ext.a64.client_exit = client_exit;
        } else {
            v->ext.x86.lapic = lapic;
            atomic_store(&v->ext.x86.client_cancel, false);
            v->st.x86->soft_seg.valid = 0;   /* derived state: recomputed, never taken from a file */
        }
        v->icount = pl->vcpu[i].icount;
        v->idle_insns = pl->vcpu[i].idle_insns;
        v->exec_time_ns = pl->vcpu[i].exec_time_ns;
        v->state_valid = SG_ALL;
        v->state_dirty = SG_ALL;
        if (vm->be->state_restored)
            vm->be->state_restored(v);
    }
    apply_time(vm, &pl->time);
    if (vm->det)
        det_restore_idle(vm, pl->have_idle ? &pl->idle : NULL);
    if (pl->dev)
        vm->devstate->restore(vm, pl->dev, pl->dev_size, true, NULL, 0);
}

static hv_return_t restore_buf(struct vm *vm, const uint8_t *buf, uint64_t len, void *client, size_t client_max,
                               size_t *client_len)
{
    struct snap_header h;
    struct plan pl = { .nvcpus = 0 };
    hv_return_t r = check_header(vm, buf, len, &h);
    struct reader rd = { buf + sizeof(h), len - (len < sizeof(h) ? len : sizeof(h)) };
    if (r == HV_SUCCESS)
        r = plan_vcpus(vm, &h, &rd, &pl);
    const uint8_t *regions = rd.p;
    if (r == HV_SUCCESS)
        r = check_regions(vm, &h, &rd);
    if (r == HV_SUCCESS)
        r = plan_sections(vm, &h, &rd, &pl);
    if (r == HV_SUCCESS && (h.client_len != rd.left || h.client_len > client_max))
        r = fail(HV_BAD_ARGUMENT, "snapshot client data: %llu bytes (%llu left in the file, room for %zu)",
                 (unsigned long long)h.client_len, (unsigned long long)rd.left, client_max);
    if (r != HV_SUCCESS)
        return r;
    apply(vm, &h, &pl, regions);
    if (h.client_len)
        memcpy(client, rd.p, h.client_len);
    if (client_len)
        *client_len = h.client_len;
    return HV_SUCCESS;
}

static hv_return_t read_file(const char *path, uint8_t **buf, uint64_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(HV_ERROR, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    hv_return_t r = HV_SUCCESS;
    *buf = NULL;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0) {
        r = fail(HV_ERROR, "cannot read '%s': %s", path, strerror(errno));
    } else if (!(*buf = malloc(sb.st_size ? (size_t)sb.st_size : 1))) {
        r = fail(HV_ERROR, "snapshot '%s' is too large to load (%lld bytes)", path, (long long)sb.st_size);
    } else if (fread(*buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        r = fail(HV_ERROR, "cannot read '%s': %s", path, strerror(errno));
    }
    *len = (uint64_t)sb.st_size;
    fclose(f);
    if (r != HV_SUCCESS) {
        free(*buf);
        *buf = NULL;
    }
    return r;
}

static hv_return_t restore_held(struct vm *vm, const char *path, void *client, size_t client_max,
                                size_t *client_len)
{
    snap_err[0] = 0;
    if (!path || !vm || (client_max && !client))
        return fail(HV_BAD_ARGUMENT, "bad argument (path, VM or client buffer)");
    uint8_t *buf = NULL;
    uint64_t len = 0;
    hv_return_t r = read_file(path, &buf, &len);
    if (r != HV_SUCCESS)
        return r;
    pthread_mutex_lock(&vm->lock);
    det_hold(vm);
    r = quiesce(vm) ? restore_buf(vm, buf, len, client, client_max, client_len) : fail(HV_BUSY, "a vCPU is running");
    vm_unquiesce(vm);
    det_release(vm);
    pthread_mutex_unlock(&vm->lock);
    free(buf);
    return r;
}

hv_return_t anyhv_vm_snapshot_restore(const char *path, void *client, size_t client_max, size_t *client_len)
{
    hv_return_t r = restore_held(vm_hold(), path, client, client_max, client_len);
    vm_release();
    return r;
}
