/* anyhv-run, Apple-silicon flavour: RAM at 0x40000000, the guest started at EL1h with
 * the MMU off, a PL011 UART and a debug-exit register emulated from data-abort exits
 * (a64_exits.c). With --kernel or --dtb auto the machine is a board: the framework's
 * GICv3 (hv_gic_create), PSCI with CPU_ON for --smp secondaries (each vCPU on its own
 * thread), the UART's interrupt, and a device tree whose address the guest gets in x0. */
#include <anyhv/anyhv.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "a64_vmm.h"

#define DEFAULT_BOOTARGS "console=ttyAMA0"

static hv_return_t run_vcpu(void *ctx)
{
    return hv_vcpu_run(((struct a64_cpu *)ctx)->vcpu);
}

static void handle_exit(void *ctx)
{
    a64_handle_exit(ctx);
}

/* The GIC has to exist before any vCPU (hv_gic_create's rule). */
static hv_return_t create_gic(void)
{
    hv_gic_config_t cfg = hv_gic_config_create();
    if (!cfg)
        return HV_NO_RESOURCES;
    hv_return_t r = hv_gic_config_set_distributor_base(cfg, A64M_GICD_BASE);
    if (r == HV_SUCCESS)
        r = hv_gic_config_set_redistributor_base(cfg, A64M_GICR_BASE);
    if (r == HV_SUCCESS)
        r = hv_gic_create(cfg);
    os_release(cfg);
    return r;
}

static bool create_vcpu(struct a64_cpu *c)
{
    if (hv_vcpu_create(&c->vcpu, &c->exit, NULL) != HV_SUCCESS)
        return false;
    /* MPIDR_EL1 Aff0 = index (the DT's cpu reg): anyhv's default, set as a VMM must. */
    hv_vcpu_set_sys_reg(c->vcpu, HV_SYS_REG_MPIDR_EL1, (1ull << 31) | c->index);
    return true;
}

/* Runs a powered-on secondary until it powers off or the session ends. */
static void secondary_run(struct a64_cpu *c)
{
    struct a64_machine *m = c->m;
    while (!a64_done(m)) {
        c->phase = PHASE_RUN;
        hv_return_t r = hv_vcpu_run(c->vcpu);
        if (r != HV_SUCCESS || a64_done(m))
            break;
        a64_handle_exit(c);
        if (c->power == CPU_OFF)
            break;
    }
}

/* A secondary vCPU's thread: create the vCPU, wait for CPU_ON, run until the end. After
 * a --restore it first waits for the restore (the gate), then goes on at the point the
 * snapshot caught it (its phase). */
static void *secondary_main(void *arg)
{
    struct a64_cpu *c = arg;
    struct a64_machine *m = c->m;
    bool ok = create_vcpu(c);
    pthread_mutex_lock(&m->lock);
    c->created = true;
    pthread_cond_broadcast(&m->power_changed);   /* tell the main thread it exists */
    while (ok && !m->gate_open && !m->s.done)
        pthread_cond_wait(&m->power_changed, &m->lock);
    pthread_mutex_unlock(&m->lock);
    if (!ok)
        return NULL;
    if (c->power == CPU_ON && !a64_done(m)) {   /* restored running */
        a64_resume(c);
        if (c->power == CPU_ON)
            secondary_run(c);
    }
    while (a64_wait_power_on(c))
        secondary_run(c);
    hv_vcpu_destroy(c->vcpu);
    return NULL;
}

/* The snapshot's client data: the machine's devices and vCPU power states
 * (session_vcpu.dev_save / dev_load, from the boot vCPU's thread with the turn held). */
static void snap_save(void *ctx)
{
    struct a64_machine *m = ((struct a64_cpu *)ctx)->m;
    pthread_mutex_lock(&m->lock);
    m->snap.uart = m->uart;
    m->snap.uart_line = m->uart_line;
    m->snap.ncpus = m->ncpus;
    for (unsigned i = 0; i < m->ncpus; i++) {
        const struct a64_cpu *c = &m->cpu[i];
        m->snap.cpu[i] = (struct a64_snap_cpu){ .power = c->power, .phase = i ? c->phase : PHASE_RUN,
                                                .on_entry = c->on_entry, .on_context = c->on_context,
                                                .idle_wfx = c->idle_wfx, .on_request = c->on_request,
                                                .os_lock = c->os_lock, .exit = c->last_exit };
    }
    pthread_mutex_unlock(&m->lock);
}

static void snap_load(void *ctx)
{
    struct a64_machine *m = ((struct a64_cpu *)ctx)->m;
    pthread_mutex_lock(&m->lock);
    m->uart = m->snap.uart;
    m->uart_line = m->snap.uart_line != 0;
    for (unsigned i = 0; i < m->ncpus && i < m->snap.ncpus; i++) {
        struct a64_cpu *c = &m->cpu[i];
        const struct a64_snap_cpu *s = &m->snap.cpu[i];
        c->power = s->power == CPU_ON ? CPU_ON : CPU_OFF;
        c->phase = s->phase <= PHASE_OFF ? (enum cpu_phase)s->phase : PHASE_RUN;
        c->on_entry = s->on_entry;
        c->on_context = s->on_context;
        c->idle_wfx = s->idle_wfx;
        c->on_request = s->on_request != 0;
        c->os_lock = s->os_lock != 0;
        c->last_exit = s->exit;
    }
    m->gate_open = true;   /* the secondaries go on from their restored phases */
    pthread_cond_broadcast(&m->power_changed);
    pthread_mutex_unlock(&m->lock);
}

/* Let the secondaries start (after a restore, or at once). */
static void open_gate(struct a64_machine *m)
{
    pthread_mutex_lock(&m->lock);
    m->gate_open = true;
    pthread_cond_broadcast(&m->power_changed);
    pthread_mutex_unlock(&m->lock);
}

static int start_secondaries(struct a64_machine *m)
{
    for (unsigned i = 1; i < m->ncpus; i++) {
        struct a64_cpu *c = &m->cpu[i];
        c->exit = NULL;
        if (pthread_create(&c->thread, NULL, secondary_main, c) != 0)
            return RUN_UNAVAILABLE;
        c->started = true;
        /* Wait until the vCPU exists, so vCPU ids (and MPIDRs) follow the index. */
        pthread_mutex_lock(&m->lock);
        while (!c->created)
            pthread_cond_wait(&m->power_changed, &m->lock);
        pthread_mutex_unlock(&m->lock);
        if (!c->exit)
            return RUN_UNAVAILABLE;
    }
    return RUN_OK;
}

/* Writes the DT in the top 2 MiB of RAM; returns its guest address (0 on failure). */
static uint64_t place_fdt(struct a64_machine *m, uint64_t initrd_start, uint64_t initrd_end)
{
    const struct a64_board b = { A64M_RAM_BASE, m->s.ram_size, m->ncpus,
                                 m->s.o->linux_kernel ? (m->s.o->append ? m->s.o->append : DEFAULT_BOOTARGS) : NULL,
                                 initrd_start, initrd_end };
    uint64_t off = m->s.ram_size - A64M_DT_SPACE;
    int err = a64_fdt_build(m->s.ram + off, A64M_DT_MAX, &b);
    if (err) {
        fprintf(stderr, "anyhv-run: cannot build the device tree (libfdt error %d)\n", err);
        return 0;
    }
    return A64M_RAM_BASE + off;
}

static int run_vm(struct a64_machine *m, uint64_t entry, uint64_t x0)
{
    struct a64_cpu *boot = &m->cpu[0];
    if (hv_vm_map(m->s.ram, A64M_RAM_BASE, m->s.ram_size, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) !=
        HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: cannot map guest RAM\n");
        return RUN_UNAVAILABLE;
    }
    hv_return_t r = m->board ? create_gic() : HV_SUCCESS;
    if (r != HV_SUCCESS)
        return session_unavailable("hv_gic_create failed", r);
    if (!create_vcpu(boot)) {
        fprintf(stderr, "anyhv-run: cannot create the vCPU\n");
        return RUN_UNAVAILABLE;
    }
    boot->power = CPU_ON;
    int status = m->board ? start_secondaries(m) : RUN_OK;
    if (status == RUN_OK) {
        hv_vcpu_set_reg(boot->vcpu, HV_REG_PC, entry);
        hv_vcpu_set_reg(boot->vcpu, HV_REG_CPSR, A64M_PSTATE_EL1H_DAIF);
        hv_vcpu_set_reg(boot->vcpu, HV_REG_X0, x0);
        hv_vcpu_set_sys_reg(boot->vcpu, HV_SYS_REG_SP_EL1, A64M_RAM_BASE + m->s.ram_size);
        const struct session_vcpu v = { boot, run_vcpu, handle_exit, boot->vcpu, &m->snap, sizeof(m->snap),
                                        snap_save, snap_load };
        if (!m->s.o->restore_file)
            open_gate(m);
        status = session_loop(&m->s, &v);
        open_gate(m);
    }
    pthread_mutex_lock(&m->lock);
    if (!m->s.done)
        session_end(&m->s, status);
    pthread_cond_broadcast(&m->power_changed);
    pthread_mutex_unlock(&m->lock);
    a64_stop_all(m, boot);
    /* Deterministic mode: the boot vCPU may hold the turn the others wait for; its
     * destruction passes it on, so they see the end. */
    if (m->det)
        hv_vcpu_destroy(boot->vcpu);
    for (unsigned i = 1; i < m->ncpus; i++)
        if (m->cpu[i].started)
            pthread_join(m->cpu[i].thread, NULL);
    if (!m->det)
        hv_vcpu_destroy(boot->vcpu);
    memhash_end(&m->s.hash);
    return status;
}

/* Loads the kernel or image; fills the entry point and x0 (the DT on the board). */
static int load(struct a64_machine *m, uint64_t *entry, uint64_t *x0)
{
    const struct run_options *o = m->s.o;
    uint64_t rd_start = 0, rd_end = 0;
    *x0 = 0;
    if (o->linux_kernel) {
        int st = a64_linux_load(o->image, o->initrd, m->s.ram, A64M_RAM_BASE, m->s.ram_size, entry, &rd_start, &rd_end);
        if (st != RUN_OK)
            return st;
    }
    if (m->board && !(*x0 = place_fdt(m, rd_start, rd_end)))
        return RUN_GUEST_FAULT;
    return RUN_OK;
}

int vmm_run(const struct run_options *o)
{
    const struct session_layout layout = { RUN_ARCH_ARM64, A64M_RAM_BASE, 0, A64M_DEFAULT_LOAD, A64M_MIN_RAM,
                                           o->linux_kernel };
    struct a64_machine *m = calloc(1, sizeof(*m));
    if (!m)
        return RUN_UNAVAILABLE;
    m->board = o->linux_kernel || o->dtb_auto;
    m->ncpus = m->board ? o->smp : 1;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->power_changed, NULL);
    for (unsigned i = 0; i < A64M_MAX_CPUS; i++)
        m->cpu[i] = (struct a64_cpu){ .m = m, .index = i, .power = CPU_OFF };
    m->cpu[0].power = CPU_ON;
    if (o->smp > 1 && !m->board)
        fprintf(stderr, "anyhv-run: --smp needs the board (--kernel or --dtb auto); running one vCPU\n");
    uint64_t entry = 0, x0 = 0;
    int status = session_prepare(&m->s, o, &layout, &entry);
    if (status == RUN_OK)
        status = load(m, &entry, &x0);
    if (status == RUN_OK) {
        pl011_init(&m->uart);
        hv_return_t r = hv_vm_create(NULL);
        m->det = anyhv_is_deterministic();
        if (r == HV_SUCCESS) {
            status = run_vm(m, entry, x0);
            hv_vm_destroy();
        } else {
            status = session_unavailable("hv_vm_create failed", r);
        }
    }
    session_release(&m->s);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->power_changed);
    free(m);
    return status;
}
