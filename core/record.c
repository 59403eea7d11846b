/* record.c - record and replay of the client's inputs (include/anyhv/record.h).
 *
 * A deterministic VM is a function of its inputs; the inputs are whatever the client
 * changes between runs. Instead of hooking every setter, the recorder keeps a shadow
 * of what the client can change - each vCPU's state struct and personality data,
 * every guest memory region mapped when recording started (ANYHV_RECORD_GUEST_MEMORY),
 * and the in-framework
 * devices' state (vm->devstate) - taken when each run of the backend ends, and at each
 * run entry logs the bytes that differ from it, keyed by (vCPU, instruction count, the
 * entry's ordinal among entries at that count). Deterministic mode's scheduler calls
 * both hooks while the vCPU holds its turn, so no other vCPU runs meanwhile and the
 * entries come in the same order every run.
 *
 * Replay: at each entry the client's changes since the last exit are undone (live :=
 * shadow) and the log's record for this entry, if any, is applied; an entry that the
 * log placed elsewhere marks the replay diverged.
 *
 * File (little-endian): struct rec_header, then records { struct rec_entry, nchunks x
 * { struct rec_chunk, bytes[len] } } in entry order. */
#include <anyhv/anyhv.h>
#include <anyhv/record.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm.h"

#define REC_MAGIC "ANYHVREC"
#define REC_VERSION 1u
#define REC_MAX_REGIONS 64u
#define REC_MERGE_GAP 16u      /* differing runs closer than this are logged as one chunk */

enum rec_area { AREA_STATE = 0, AREA_EXT = 1, AREA_DEV = 2, AREA_MEM = 3 };

struct rec_header {
    char magic[8];
    uint32_t version, flavour;
    uint32_t state_size, ext_size;
    uint32_t nregions, flags;   /* ANYHV_RECORD_* */
    uint64_t dev_size;
    uint64_t region_size[REC_MAX_REGIONS];
};

struct rec_entry {
    uint32_t vcpu, ordinal;
    uint64_t icount;
    uint32_t nchunks, reserved;
};

struct rec_chunk {
    uint32_t area, index;
    uint64_t offset, len;
};

struct rec_region {
    uint8_t *host, *shadow;
    uint64_t size;
};

struct recorder {
    bool replay, diverged;
    FILE *f;                               /* recording */
    uint8_t *log;                          /* replay: the whole file */
    size_t log_len, cursor;
    size_t state_size, ext_size, dev_size;
    uint8_t *vshadow[ANYHV_MAX_VCPUS];     /* state then ext, at the last exit */
    uint64_t last_icount[ANYHV_MAX_VCPUS];
    uint32_t ordinal[ANYHV_MAX_VCPUS];
    bool entered[ANYHV_MAX_VCPUS];
    uint32_t nregions;
    struct rec_region region[REC_MAX_REGIONS];
    uint8_t *dev_live, *dev_shadow;
};

static struct recorder *rec_of(struct vm *vm)
{
    return atomic_load(&vm->rec);
}

static bool any_running(struct vm *vm)
{
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v && atomic_load(&v->running))
            return true;
    }
    return false;
}

/* ---- shadows ---- */

static uint8_t *vcpu_bytes(struct vcpu *v, enum rec_area a)
{
    return a == AREA_STATE ? (uint8_t *)v->st.x86 : (uint8_t *)&v->ext;
}

static void shadow_vcpu(struct recorder *r, struct vcpu *v)
{
    memcpy(r->vshadow[v->id], vcpu_bytes(v, AREA_STATE), r->state_size);
    memcpy(r->vshadow[v->id] + r->state_size, vcpu_bytes(v, AREA_EXT), r->ext_size);
}

static void shadow_memory(struct recorder *r)
{
    for (uint32_t i = 0; i < r->nregions; i++)
        memcpy(r->region[i].shadow, r->region[i].host, r->region[i].size);
}

/* The devices' state into buf (dev_size bytes). Its size follows the VM's shape (the
 * x86 state holds one local APIC per vCPU): a vCPU created after the log started grows
 * it, and the log cannot follow - it is marked failed (finish says HV_ERROR); once a vCPU
 * is destroyed (the VM winding down) the devices are no longer logged. Nothing is
 * written then: false, as without devices. */
static bool dev_save(struct vm *vm, struct recorder *r, uint8_t *buf)
{
    if (!vm->devstate)
        return false;
    size_t size = vm->devstate->size(vm);
    if (size != r->dev_size) {
        r->diverged |= size > r->dev_size;
        return false;
    }
    vm->devstate->save(vm, buf);
    return true;
}

static void shadow_dev(struct vm *vm, struct recorder *r)
{
    dev_save(vm, r, r->dev_shadow);
}

/* ---- recording ---- */

struct chunk_writer {
    struct recorder *r;
    struct rec_entry e;
    long at;                   /* file position of the entry header */
};

static void put_chunk(struct chunk_writer *w, uint32_t area, uint32_t index, uint64_t off, const uint8_t *p,
                      uint64_t len)
{
    if (w->e.nchunks == 0) {
        w->at = ftell(w->r->f);
        fwrite(&w->e, sizeof(w->e), 1, w->r->f);
    }
    struct rec_chunk c = { area, index, off, len };
    fwrite(&c, sizeof(c), 1, w->r->f);
    fwrite(p, 1, len, w->r->f);
    w->e.nchunks++;
}

/* Log the runs where live differs from shadow, and bring the shadow up to date. */
static void diff_area(struct chunk_writer *w, uint32_t area, uint32_t index, const uint8_t *live, uint8_t *shadow,
                      uint64_t size)
{
    uint64_t i = 0;
    while (i < size) {
        if (live[i] == shadow[i]) {
            i++;
            continue;
        }
        uint64_t start = i, last = i;
        for (; i < size && i - last <= REC_MERGE_GAP; i++)
            if (live[i] != shadow[i])
                last = i;
        put_chunk(w, area, index, start, live + start, last + 1 - start);
        memcpy(shadow + start, live + start, last + 1 - start);
        i = last + 1;
    }
}

static void record_entry(struct vm *vm, struct recorder *r, struct vcpu *v, uint32_t ordinal)
{
    struct chunk_writer w = { r, { .vcpu = v->id, .ordinal = ordinal, .icount = v->icount }, -1 };
    uint8_t *sh = r->vshadow[v->id];
    diff_area(&w, AREA_STATE, 0, vcpu_bytes(v, AREA_STATE), sh, r->state_size);
    diff_area(&w, AREA_EXT, 0, vcpu_bytes(v, AREA_EXT), sh + r->state_size, r->ext_size);
    if (dev_save(vm, r, r->dev_live))
        diff_area(&w, AREA_DEV, 0, r->dev_live, r->dev_shadow, r->dev_size);
    for (uint32_t i = 0; i < r->nregions; i++)
        diff_area(&w, AREA_MEM, i, r->region[i].host, r->region[i].shadow, r->region[i].size);
    if (w.e.nchunks) {
        long end = ftell(r->f);
        fseek(r->f, w.at, SEEK_SET);
        fwrite(&w.e, sizeof(w.e), 1, r->f);
        fseek(r->f, end, SEEK_SET);
    }
}

/* ---- replay ---- */

/* Undo the client's changes since the last exit. */
static void undo_client(struct vm *vm, struct recorder *r, struct vcpu *v)
{
    memcpy(vcpu_bytes(v, AREA_STATE), r->vshadow[v->id], r->state_size);
    memcpy(vcpu_bytes(v, AREA_EXT), r->vshadow[v->id] + r->state_size, r->ext_size);
    for (uint32_t i = 0; i < r->nregions; i++)
        if (memcmp(r->region[i].host, r->region[i].shadow, r->region[i].size) != 0)
            memcpy(r->region[i].host, r->region[i].shadow, r->region[i].size);
    if (dev_save(vm, r, r->dev_live) && memcmp(r->dev_live, r->dev_shadow, r->dev_size) != 0)
        vm->devstate->restore(vm, r->dev_shadow, r->dev_size, true, NULL, 0);
}

static uint8_t *area_at(struct recorder *r, struct vcpu *v, const struct rec_chunk *c)
{
    uint64_t size = c->area == AREA_STATE ? r->state_size
                    : c->area == AREA_EXT ? r->ext_size
                    : c->area == AREA_DEV ? r->dev_size
                    : c->area == AREA_MEM && c->index < r->nregions ? r->region[c->index].size
                                                                    : 0;
    if (c->offset > size || c->len > size - c->offset)
        return NULL;
    switch (c->area) {
    case AREA_STATE: return vcpu_bytes(v, AREA_STATE) + c->offset;
    case AREA_EXT: return vcpu_bytes(v, AREA_EXT) + c->offset;
    case AREA_DEV: return r->dev_live + c->offset;
    default: return r->region[c->index].host + c->offset;
    }
}

/* Apply the record at the cursor (checked chunk by chunk); false if malformed. */
static bool apply_record(struct vm *vm, struct recorder *r, struct vcpu *v, const struct rec_entry *e)
{
    size_t at = r->cursor + sizeof(*e);
    bool dev = false, dev_ok = dev_save(vm, r, r->dev_live);
    for (uint32_t k = 0; k < e->nchunks; k++) {
        struct rec_chunk c;
        if (r->log_len - at < sizeof(c))
            return false;
        memcpy(&c, r->log + at, sizeof(c));
        at += sizeof(c);
        uint8_t *dst = area_at(r, v, &c);
        if (!dst || r->log_len - at < c.len)
            return false;
        memcpy(dst, r->log + at, c.len);
        at += c.len;
        dev |= c.area == AREA_DEV;
    }
    if (dev && !dev_ok)
        return false;
    r->cursor = at;
    if (dev && !vm->devstate->restore(vm, r->dev_live, r->dev_size, true, NULL, 0))
        return false;
    return true;
}

static void replay_entry(struct vm *vm, struct recorder *r, struct vcpu *v, uint32_t ordinal)
{
    undo_client(vm, r, v);
    struct rec_entry e;
    while (!r->diverged && r->log_len - r->cursor >= sizeof(e)) {
        memcpy(&e, r->log + r->cursor, sizeof(e));
        if (e.vcpu != v->id)
            return;   /* another vCPU's next input: not this entry's */
        bool before = e.icount < v->icount || (e.icount == v->icount && e.ordinal < ordinal);
        if (!before && (e.icount != v->icount || e.ordinal != ordinal))
            return;   /* later */
        if (before || !apply_record(vm, r, v, &e)) {
            r->diverged = true;   /* logged for a point this run did not make, or malformed */
            return;
        }
        break;
    }
    shadow_vcpu(r, v);
    shadow_memory(r);
    shadow_dev(vm, r);
}

/* ---- hooks (determinism.c, the vCPU holding its turn) ---- */

void rec_vcpu_entry(struct vcpu *v)
{
    struct recorder *r = rec_of(v->vm);
    if (!r)
        return;
    if (!r->vshadow[v->id]) {
        /* A vCPU created after the log started (a secondary brought up by the guest):
         * its state at its first entry is its starting point, not an input. */
        if (!(r->vshadow[v->id] = malloc(r->state_size + r->ext_size)))
            return;
        shadow_vcpu(r, v);
    }
    uint32_t id = v->id;
    if (r->entered[id] && r->last_icount[id] == v->icount) {
        r->ordinal[id]++;
    } else {
        r->ordinal[id] = 0;
        r->last_icount[id] = v->icount;
        r->entered[id] = true;
    }
    if (r->replay)
        replay_entry(v->vm, r, v, r->ordinal[id]);
    else
        record_entry(v->vm, r, v, r->ordinal[id]);
}

void rec_vcpu_exit(struct vcpu *v)
{
    struct recorder *r = rec_of(v->vm);
    if (!r || !r->vshadow[v->id])
        return;
    shadow_vcpu(r, v);
    shadow_memory(r);
    shadow_dev(v->vm, r);
}

/* ---- API ---- */

static void rec_free(struct recorder *r)
{
    if (!r)
        return;
    if (r->f)
        fclose(r->f);
    free(r->log);
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++)
        free(r->vshadow[i]);
    for (uint32_t i = 0; i < r->nregions; i++)
        free(r->region[i].shadow);
    free(r->dev_live);
    free(r->dev_shadow);
    free(r);
}

/* The shape of the VM as a header; false if it has too many regions. */
static bool shape(struct vm *vm, struct recorder *r, struct rec_header *h, uint32_t flags)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, REC_MAGIC, sizeof(h->magic));
    h->version = REC_VERSION;
    h->flavour = vm->arch;
    r->state_size = vm->arch == GUEST_X86_64 ? sizeof(struct x86_state) : sizeof(struct a64_state);
    /* The Intel part up to client_cancel, its last field: other threads set that flag
     * (hv_vcpu_interrupt) while the vCPU runs, and it is not state the client gave. */
    r->ext_size = vm->arch == GUEST_X86_64 ? offsetof(struct vcpu_x86_ext, client_cancel) : sizeof(struct vcpu_a64_ext);
    r->dev_size = vm->devstate ? vm->devstate->size(vm) : 0;
    h->state_size = (uint32_t)r->state_size;
    h->ext_size = (uint32_t)r->ext_size;
    h->dev_size = r->dev_size;
    h->flags = flags;
    for (uint32_t s = 0; s < ANYHV_MAX_SPACES && (flags & ANYHV_RECORD_GUEST_MEMORY); s++) {
        for (size_t i = 0; vm->spaces[s] && i < vm->spaces[s]->count; i++) {
            if (r->nregions == REC_MAX_REGIONS)
                return false;
            const struct pmap_range *pr = &vm->spaces[s]->ranges[i];
            r->region[r->nregions] = (struct rec_region){ pr->host, NULL, pr->size };
            h->region_size[r->nregions++] = pr->size;
        }
    }
    h->nregions = r->nregions;
    return true;
}

static bool allocate_shadows(struct vm *vm, struct recorder *r)
{
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v && !(r->vshadow[i] = malloc(r->state_size + r->ext_size)))
            return false;
        if (v)
            shadow_vcpu(r, v);
    }
    for (uint32_t i = 0; i < r->nregions; i++)
        if (!(r->region[i].shadow = malloc(r->region[i].size)))
            return false;
    shadow_memory(r);
    if (r->dev_size && (!(r->dev_live = malloc(r->dev_size)) || !(r->dev_shadow = malloc(r->dev_size))))
        return false;
    shadow_dev(vm, r);
    return true;
}

static hv_return_t load_log(const char *path, struct recorder *r, const struct rec_header *want)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return HV_ERROR;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    r->log = n > 0 ? malloc((size_t)n) : NULL;
    bool ok = r->log && fread(r->log, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    if (!ok)
        return r->log ? HV_ERROR : HV_BAD_ARGUMENT;
    r->log_len = (size_t)n;
    if (r->log_len < sizeof(*want) || memcmp(r->log, want, sizeof(*want)) != 0)
        return HV_BAD_ARGUMENT;   /* another flavour, version or VM shape */
    r->cursor = sizeof(*want);
    return HV_SUCCESS;
}

static hv_return_t start_held(struct vm *vm, const char *path, uint32_t flags, bool replay)
{
    if (!path || !vm || (flags & ~(uint32_t)ANYHV_RECORD_GUEST_MEMORY))
        return HV_BAD_ARGUMENT;
    if (!vm->det)
        return HV_UNSUPPORTED;
    pthread_mutex_lock(&vm->lock);
    hv_return_t ret = HV_SUCCESS;
    struct recorder *r = NULL;
    struct rec_header h;
    if (vm->rec || atomic_load(&vm->ran))
        ret = HV_BUSY;
    else if (!(r = calloc(1, sizeof(*r))))
        ret = HV_NO_RESOURCES;
    else if (!shape(vm, r, &h, flags) || !allocate_shadows(vm, r))
        ret = HV_NO_RESOURCES;
    else if (replay)
        ret = load_log(path, r, &h);
    else if (!(r->f = fopen(path, "wb")) || fwrite(&h, sizeof(h), 1, r->f) != 1)
        ret = HV_ERROR;
    if (ret == HV_SUCCESS) {
        r->replay = replay;
        vm->rec = r;
    } else {
        rec_free(r);
    }
    pthread_mutex_unlock(&vm->lock);
    return ret;
}

/* Held for the whole call: hv_vm_destroy cannot free the VM under it. */
static hv_return_t start(const char *path, uint32_t flags, bool replay)
{
    hv_return_t ret = start_held(vm_hold(), path, flags, replay);
    vm_release();
    return ret;
}

hv_return_t anyhv_record_start(const char *path, uint32_t flags)
{
    return start(path, flags, false);
}

hv_return_t anyhv_replay_start(const char *path, uint32_t flags)
{
    return start(path, flags, true);
}

static hv_return_t finish_held(struct vm *vm)
{
    if (!vm)
        return HV_BAD_ARGUMENT;
    pthread_mutex_lock(&vm->lock);
    /* A running vCPU reads vm->rec at its entry and exit without a lock, after it
     * marked itself running: taking the log away first and then looking for running
     * vCPUs, one of the two sides sees the other, so a log still in use is put back. */
    struct recorder *r = atomic_exchange(&vm->rec, NULL);
    if (r && any_running(vm)) {
        atomic_store(&vm->rec, r);
        pthread_mutex_unlock(&vm->lock);
        return HV_BUSY;
    }
    hv_return_t ret = !r ? HV_BAD_ARGUMENT : r->diverged ? HV_ERROR : HV_SUCCESS;
    if (r && r->f && fflush(r->f) != 0)
        ret = HV_ERROR;
    rec_free(r);
    pthread_mutex_unlock(&vm->lock);
    return ret;
}

hv_return_t anyhv_record_finish(void)
{
    hv_return_t ret = finish_held(vm_hold());
    vm_release();
    return ret;
}

void rec_vm_gone(struct vm *vm)
{
    rec_free(vm->rec);
    vm->rec = NULL;
}
