/* Guest memory on the soft backend: self-modifying code invalidates translations,
 * code rewritten by the client between runs is noticed, unmap/protect take effect
 * on a vCPU running on another thread before they return, atomics, and accesses
 * that cross pages (a fault on the second page leaves the first untouched). */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "toy_fixture.h"

TestSuite(mem, .init = setup, .fini = teardown);

static void run_expect_out(uint16_t port, uint64_t data)
{
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    struct anyhv_exit *x = &t.vcpu->exit;
    cr_assert_eq(x->kind, EXIT_PIO, "exit %s", exit_kind_name(x->kind));
    cr_expect_eq(x->u.pio.port, port);
    cr_expect_eq(x->u.pio.data, data, "data %llu, expected %llu", (unsigned long long)x->u.pio.data,
                 (unsigned long long)data);
}

Test(mem, self_modifying_code_runs_the_new_instructions)
{
    start();
    const uint64_t target = CODE + 0x100, patch = CODE + 0x200;
    uint8_t *p = t.ram + CODE;
    toy_emit(p, TOY_JMP, 0, 0, (int)(target - (CODE + 4)) / 4);
    p = toy_emit(t.ram + target, TOY_ADDI, 2, 0, 1);
    toy_emit(p, TOY_OUT, 2, 0, 1);
    run_expect_out(1, 1);   /* translates the target block */

    /* The patch: store "ADDI r2, 5; OUT r2 port 2" over the target, then jump there. */
    uint8_t repl[8];
    toy_emit(toy_emit(repl, TOY_ADDI, 2, 0, 5), TOY_OUT, 2, 0, 2);
    uint64_t word = 0;
    memcpy(&word, repl, 8);
    p = t.ram + patch;
    p = toy_movi(p, 5, word);
    p = toy_movi(p, 6, target);
    p = toy_emit(p, TOY_ST, 5, 6, 0);
    uint64_t here = patch + (uint64_t)(p - (t.ram + patch));
    toy_emit(p, TOY_JMP, 0, 0, (int)((int64_t)target - (int64_t)(here + 4)) / 4);
    toy_regs(&t)->rip = patch;
    run_expect_out(2, 6);
    cr_expect_eq(memcmp(t.ram + target, repl, 8), 0);
}

Test(mem, a_store_into_the_running_block_is_seen_by_the_next_instruction)
{
    start();
    /* One block: the store rewrites the ADDI right after it (imm8 1 -> 5). */
    uint8_t *p = t.ram + CODE;
    p = toy_movi(p, 6, CODE + 28);         /* address of the ADDI */
    p = toy_movi(p, 7, 5);
    p = toy_emit(p, TOY_STB, 7, 6, 3);     /* patch its imm8 */
    p = toy_emit(p, TOY_ADDI, 2, 0, 1);
    p = toy_emit(p, TOY_ADDI, 2, 0, 1);
    toy_emit(p, TOY_OUT, 2, 0, 1);
    run_expect_out(1, 6);
    cr_expect_eq(t.vcpu->icount, 6, "every instruction counted once");
    cr_expect_eq(t.ram[CODE + 28 + 3], 5);
}

Test(mem, a_store_over_its_own_bytes_and_the_next_instruction_completes)
{
    start();
    /* The store rewrites itself (unchanged) and the OUT after it (port 1 -> 7): the
     * block restarts with the store alone, which must then retire (as a CALL does
     * whose stack is its own code), not restart again. */
    const uint64_t st = CODE + 24;
    uint8_t repl[8];
    toy_emit(toy_emit(repl, TOY_ST, 5, 6, 0), TOY_OUT, 2, 0, 7);
    uint64_t word = 0;
    memcpy(&word, repl, 8);
    uint8_t *p = t.ram + CODE;
    p = toy_movi(p, 6, st);
    p = toy_movi(p, 5, word);
    p = toy_emit(p, TOY_ST, 5, 6, 0);
    toy_emit(p, TOY_OUT, 2, 0, 1);
    cr_assert_eq(vcpu_run(t.vcpu, host_monotonic_ns() + 5000 * 1000000ull), HV_SUCCESS);
    struct anyhv_exit *x = &t.vcpu->exit;
    cr_assert_eq(x->kind, EXIT_PIO, "exit %s (a restart loop ends at the deadline)", exit_kind_name(x->kind));
    cr_expect_eq(x->u.pio.port, 7, "the rewritten instruction runs");
    cr_expect_eq(t.vcpu->icount, 4);
}

Test(mem, smc_through_a_byte_store_and_an_atomic)
{
    start();
    const uint64_t target = CODE + 0x100;
    toy_emit(t.ram + CODE, TOY_JMP, 0, 0, (int)(target - (CODE + 4)) / 4);
    toy_emit(t.ram + target, TOY_OUT, 2, 0, 1);
    run_expect_out(1, 0);
    /* Byte store changes the port operand (imm8 byte) of the OUT. */
    const uint64_t patch1 = CODE + 0x180, patch2 = CODE + 0x200;
    uint8_t *p = t.ram + patch1;
    p = toy_movi(p, 6, target);
    p = toy_movi(p, 7, 9);
    p = toy_emit(p, TOY_STB, 7, 6, 3);
    toy_emit(p, TOY_JMP, 0, 0, (int)((int64_t)target - (int64_t)(patch1 + 28 + 4)) / 4);
    toy_regs(&t)->rip = patch1;
    run_expect_out(9, 0);
    /* An atomic add on the instruction word bumps the port again (byte 3 += 1). */
    p = t.ram + patch2;
    p = toy_movi(p, 6, target);
    p = toy_movi(p, 7, 1ull << 24);
    p = toy_emit(p, TOY_XADD, 7, 6, 0);
    toy_emit(p, TOY_JMP, 0, 0, (int)((int64_t)target - (int64_t)(patch2 + 28 + 4)) / 4);
    toy_regs(&t)->rip = patch2;
    run_expect_out(10, 0);
}

Test(mem, code_rewritten_by_the_client_between_runs)
{
    start();
    uint8_t *p = toy_emit(t.ram + CODE, TOY_ADDI, 2, 0, 1);
    toy_emit(p, TOY_OUT, 2, 0, 1);
    run_expect_out(1, 1);
    p = toy_emit(t.ram + CODE, TOY_ADDI, 2, 0, 7);
    toy_emit(p, TOY_OUT, 2, 0, 3);
    toy_regs(&t)->rip = CODE;
    run_expect_out(3, 8);
}

/* A ring of `n` blocks (ADDI r2 += 1; JMP next), the last one's jump replaced by
 * "OUT r2 port 1; JMP first": one exit per lap, resumed after the OUT, so from the
 * second run on each run goes round the ring through the links of the one before
 * (compiled code chains along them). Block i is at ring_block(i). */
static unsigned ring_stride = 0x10;
static uint64_t ring_block(unsigned i) { return CODE + i * ring_stride; }

static void ring_build(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t *p = toy_emit(t.ram + ring_block(i), TOY_ADDI, 2, 0, 1);
        if (i + 1 < n) {
            toy_emit(p, TOY_JMP, 0, 0, (int)(ring_stride - 8) / 4);
        } else {
            p = toy_emit(p, TOY_OUT, 2, 0, 1);
            int64_t back = (int64_t)ring_block(0) - (int64_t)(ring_block(i) + 12);
            toy_emit(p, TOY_JMP, 0, 0, (int)(back / 4));
        }
    }
}

/* Laps of the ring, each adding `per_lap` to r2 and exiting with it. */
static void ring_laps(uint64_t per_lap, unsigned laps, uint64_t *r2)
{
    for (unsigned i = 0; i < laps; i++) {
        *r2 += per_lap;
        run_expect_out(1, *r2);
    }
}

/* The client rewrites block `which` of a ring of `n` (ADDI r2 += 1 -> += 9) after
 * `laps` laps: from the next lap on, each adds 8 more. */
static void ring_rewrite_case(unsigned n, unsigned which, unsigned laps)
{
    start();
    ring_build(n);
    uint64_t r2 = 0;
    ring_laps(n, laps, &r2);
    toy_emit(t.ram + ring_block(which), TOY_ADDI, 2, 0, 9);
    ring_laps(n + 8, 3, &r2);
    /* And back: the block translated from the new bytes is checked as well. */
    toy_emit(t.ram + ring_block(which), TOY_ADDI, 2, 0, 1);
    ring_laps(n, 3, &r2);
}

/* With compiled code, a run whose entry finds the bytes of every block checked so far
 * unchanged goes on in the same check generation, so links made in earlier runs
 * stay usable; a block rewritten by the client between runs must still not run
 * stale, although the run reaches it along such a link. */
Test(mem, code_rewritten_by_the_client_in_a_block_reached_through_links)
{
    ring_rewrite_case(4, 2, 5);
}

Test(mem, the_check_generation_carries_on_only_with_compiled_code)
{
    start();
    ring_build(4);
    uint64_t r2 = 0;
    ring_laps(4, 3, &r2);
    struct soft_vcpu *sv = t.vcpu->be;
    uint64_t gen = sv->check_gen;
    ring_laps(4, 3, &r2);
    if (sv->jit)
        cr_expect_eq(sv->check_gen, gen, "unchanged code: the generation and its links go on");
    else
        cr_expect_eq(sv->check_gen, gen + 3, "the interpreter checks each run's blocks lazily");
    /* A rewrite ends the generation. */
    toy_emit(t.ram + ring_block(1), TOY_ADDI, 2, 0, 9);
    ring_laps(4 + 8, 1, &r2);
    cr_expect_gt(sv->check_gen, gen);
}

/* Blocks further apart than a range bridges, more of them than a carried-on
 * generation holds ranges: each run begins a new generation and the blocks are
 * checked as they are reached. */
Test(mem, code_rewritten_by_the_client_in_more_places_than_the_ranges_hold)
{
    ring_stride = 0x30;
    _Static_assert(0x30 - 8 > SOFT_RANGE_GAP, "the blocks' ranges stay apart");
    ring_rewrite_case(SOFT_CHECK_RANGES + 2, SOFT_CHECK_RANGES, 5);
    ring_stride = 0x10;
}

/* Twenty blocks of a ring, a few bytes apart, fill two ranges of a generation that
 * carries on: a rewrite in the second is seen. */
Test(mem, code_rewritten_by_the_client_in_a_merged_range)
{
    ring_rewrite_case(20, 18, 5);
}

/* A generation is renewed after SOFT_CHECK_REFRESH_RUNS runs: a rewrite just after
 * that is seen too. */
Test(mem, code_rewritten_by_the_client_after_the_generation_was_renewed)
{
    ring_rewrite_case(3, 0, SOFT_CHECK_REFRESH_RUNS + 1);
}

Test(mem, another_address_space_runs_its_own_code)
{
    start();
    uint8_t *p = toy_emit(t.ram + CODE, TOY_ADDI, 2, 0, 1);
    toy_emit(p, TOY_OUT, 2, 0, 1);
    run_expect_out(1, 1);
    /* Space 1 maps other memory at the same guest-physical addresses. */
    uint8_t *other = aligned_alloc(4096, RAM);
    cr_assert(other);
    memset(other, 0, RAM);
    p = toy_emit(other + CODE, TOY_ADDI, 2, 0, 3);
    toy_emit(p, TOY_OUT, 2, 0, 2);
    uint32_t space;
    cr_assert_eq(vm_space_create(&space), HV_SUCCESS);
    cr_assert_eq(vm_map(space, other, 0, RAM, PMAP_PERM_ALL), HV_SUCCESS);
    cr_assert_eq(t.vcpu->vm->be->vcpu_set_space(t.vcpu, space), HV_SUCCESS);
    t.vcpu->space = space;
    toy_regs(&t)->rip = CODE;
    run_expect_out(2, 4);
    cr_assert_eq(t.vcpu->vm->be->vcpu_set_space(t.vcpu, 0), HV_SUCCESS);
    t.vcpu->space = 0;
    toy_regs(&t)->rip = CODE;
    run_expect_out(1, 5);
    vm_unmap(space, 0, RAM);
    free(other);
}

Test(mem, cached_blocks_are_reused)
{
    start();
    uint8_t *p = toy_emit(t.ram + CODE, TOY_ADDI, 2, 0, 1);
    toy_emit(p, TOY_OUT, 2, 0, 1);
    run_expect_out(1, 1);
    struct soft_vcpu *sv = t.vcpu->be;
    uint64_t n = sv->tc.translations;
    for (int i = 0; i < 5; i++) {
        toy_regs(&t)->rip = CODE;
        run_expect_out(1, (uint64_t)i + 2);
    }
    cr_expect_eq(sv->tc.translations, n, "no retranslation of unchanged code");
}

Test(mem, hot_loops_follow_block_links)
{
    start();
    uint8_t *p = t.ram + CODE;
    p = toy_movi(p, 1, 1000);
    p = toy_emit(p, TOY_ADDI, 1, 0, -1);   /* loop: two blocks, the JNZ and the JMP */
    p = toy_emit(p, TOY_JNZ, 1, 0, 1);
    p = toy_emit(p, TOY_OUT, 1, 0, 1);
    toy_emit(p, TOY_JMP, 0, 0, -4);
    run_expect_out(1, 0);
    struct soft_vcpu *sv = t.vcpu->be;
    /* Interpreted blocks follow the dispatcher's links; compiled ones (eager tier)
     * chain to each other without it: either way no lookup per block. */
    cr_expect_gt(sv->link_hits + sv->blocks_jit, 1900, "%llu link hits, %llu compiled runs, %llu lookups",
                 (unsigned long long)sv->link_hits, (unsigned long long)sv->blocks_jit,
                 (unsigned long long)sv->lookups);
    cr_expect_lt(sv->lookups, 10);
    /* A TLB flush drops the links: the next run looks blocks up again. */
    t.vcpu->vm->be->invalidate_tlb(t.vcpu);
    uint64_t before = sv->lookups;
    toy_regs(&t)->rip = CODE;
    run_expect_out(1, 0);
    cr_expect_gt(sv->lookups, before + 1);
}

Test(mem, atomics_compare_exchange_and_fetch_add)
{
    start();
    uint64_t *cell = (uint64_t *)(t.ram + 0x8000);
    *cell = 40;
    uint8_t *p = t.ram + CODE;
    p = toy_movi(p, 6, 0x8000);
    p = toy_movi(p, 0, 41);               /* expected: wrong */
    p = toy_movi(p, 7, 99);
    p = toy_emit(p, TOY_CAS, 7, 6, 0);    /* fails: r0 = 40 */
    p = toy_emit(p, TOY_CAS, 7, 6, 0);    /* succeeds: [cell] = 99, r0 = 40 */
    p = toy_movi(p, 8, 1);
    p = toy_emit(p, TOY_XADD, 8, 6, 0);   /* r8 = 99, [cell] = 100 */
    toy_emit(p, TOY_OUT, 8, 0, 1);
    run_expect_out(1, 99);
    cr_expect_eq(*cell, 100);
    cr_expect_eq(toy_regs(&t)->gpr[0], 40);
}

Test(mem, page_crossing_accesses)
{
    start();
    uint64_t v = 0x1122334455667788ull;
    memcpy(t.ram + 0x8ffc, &v, 8);
    uint8_t *p = t.ram + CODE;
    p = toy_movi(p, 6, 0x8ffc);
    p = toy_emit(p, TOY_LD, 4, 6, 0);
    p = toy_emit(p, TOY_ADDI, 4, 0, 1);
    p = toy_emit(p, TOY_ST, 4, 6, 0x10);  /* 0x900c: within the page */
    p = toy_movi(p, 6, 0x9ffe);
    p = toy_emit(p, TOY_ST, 4, 6, 0);     /* crosses into the unmapped-by-protect page */
    toy_emit(p, TOY_OUT, 4, 0, 1);
    cr_assert_eq(vm_protect(0, 0xa000, 0x1000, PMAP_READ), HV_SUCCESS);
    memset(t.ram + 0x9ff0, 0xcc, 0x20);
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    cr_expect_eq(toy_regs(&t)->gpr[4], v + 1);
    uint64_t back;
    memcpy(&back, t.ram + 0x900c, 8);
    cr_expect_eq(back, v + 1);
    cr_assert_eq(t.vcpu->exit.kind, EXIT_MMIO);
    cr_expect_eq(t.vcpu->exit.u.mem.gpa, 0xa000);
    cr_expect(t.vcpu->exit.u.mem.write);
    cr_expect_eq(t.ram[0x9ffe], 0xcc, "no partial write of a faulting split store");
    cr_expect_eq(t.ram[0x9fff], 0xcc);
}

/* ---- stage-2 changes while a vCPU runs on another thread -------------------- */

struct runner {
    struct toy_vm *t;
    _Atomic int phase;
    enum exit_kind kind;
    uint64_t gpa;
    bool write;
};

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    toy_vcpu_create(r->t);
    toy_regs(r->t)->rip = CODE;
    atomic_store(&r->phase, 1);
    vcpu_run(r->t->vcpu, BACKEND_NO_DEADLINE);
    r->kind = r->t->vcpu->exit.kind;
    r->gpa = r->t->vcpu->exit.u.mem.gpa;
    r->write = r->t->vcpu->exit.u.mem.write;
    atomic_store(&r->phase, 2);
    vcpu_destroy(r->t->id);
    r->t->vcpu = NULL;
    return NULL;
}

/* A loop storing an incrementing counter to gpa 0x10000 forever. */
static void write_store_loop(void)
{
    uint8_t *p = t.ram + CODE;
    p = toy_movi(p, 6, 0x10000);
    p = toy_emit(p, TOY_ADDI, 1, 0, 1);
    p = toy_emit(p, TOY_ST, 1, 6, 0);
    toy_emit(p, TOY_JMP, 0, 0, -3);
}

static uint64_t wait_for_progress(volatile uint64_t *cell)
{
    while (*cell < 1000)
        sleep_ms(1);
    return *cell;
}

/* A vCPU on its own thread storing to a fresh page mapped at gpa 0x10000, seen making
 * progress; returns the page. */
static uint64_t *start_storing_vcpu(struct runner *r, pthread_t *th)
{
    toy_vm_create(&t, RAM);
    uint64_t *data = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(data, MAP_FAILED);
    cr_assert_eq(vm_map(0, data, 0x10000, 0x1000, PMAP_READ | PMAP_WRITE), HV_SUCCESS);
    write_store_loop();
    cr_assert_eq(pthread_create(th, NULL, runner_main, r), 0);
    wait_for_progress(data);
    return data;
}

Test(mem, protect_takes_effect_on_a_running_vcpu_before_it_returns)
{
    struct runner r = { .t = &t };
    pthread_t th;
    uint64_t *data = start_storing_vcpu(&r, &th);
    cr_assert_eq(vm_protect(0, 0x10000, 0x1000, PMAP_READ), HV_SUCCESS);
    uint64_t frozen = *(volatile uint64_t *)data;
    sleep_ms(20);
    cr_expect_eq(*(volatile uint64_t *)data, frozen, "no store lands after protect returned");
    pthread_join(th, NULL);
    cr_expect_eq(r.kind, EXIT_MMIO, "exit %s", exit_kind_name(r.kind));
    cr_expect_eq(r.gpa, 0x10000);
    cr_expect(r.write);
    munmap(data, 0x1000);
}

Test(mem, unmap_takes_effect_on_a_running_vcpu_before_it_returns)
{
    struct runner r = { .t = &t };
    pthread_t th;
    uint64_t *data = start_storing_vcpu(&r, &th);
    cr_assert_eq(vm_unmap(0, 0x10000, 0x1000), HV_SUCCESS);
    /* The host memory goes away: a stale translation would now crash the test. */
    cr_assert_eq(munmap(data, 0x1000), 0);
    pthread_join(th, NULL);
    cr_expect_eq(r.kind, EXIT_MMIO, "exit %s", exit_kind_name(r.kind));
    cr_expect_eq(r.gpa, 0x10000);
}

Test(mem, invalidate_tlb_request_is_honoured)
{
    start();
    struct soft_cpu *cpu = toy_cpu(&t);
    uint8_t *p = toy_emit(t.ram + CODE, TOY_LD, 4, 6, 0);
    toy_emit(p, TOY_OUT, 4, 0, 1);
    toy_regs(&t)->gpr[6] = 0x8000;
    run_expect_out(1, 0);
    cr_expect_not_null(mmu_tlb_lookup(&cpu->tlb, 0, 0x8000, MMU_READ));
    t.vcpu->vm->be->invalidate_tlb(t.vcpu);
    toy_regs(&t)->rip = CODE + 4;
    run_expect_out(1, 0);
    cr_expect_null(mmu_tlb_lookup(&cpu->tlb, 0, 0x8000, MMU_READ), "flushed before executing again");
}

/* Host memory the client takes away after hv_vm_map (munmap, mprotect) never faults the
 * host: the guest access ends the run with an internal exit naming the guest-physical
 * address, and the vCPU runs again once the memory is back. */
static void run_load_from(uint64_t gpa)
{
    uint8_t *p = toy_movi(t.ram + CODE, 6, gpa);
    p = toy_emit(p, TOY_LD, 4, 6, 0);
    toy_emit(p, TOY_OUT, 4, 0, 1);
    toy_regs(&t)->rip = CODE;
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
}

Test(mem, host_memory_gone_after_map_is_an_exit_not_a_signal)
{
    start();
    uint64_t *page = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(page, MAP_FAILED);
    page[0] = 0x1234;
    cr_assert_eq(vm_map(0, page, 0x10000, 0x1000, PMAP_READ | PMAP_WRITE), HV_SUCCESS);
    cr_assert_eq(mprotect(page, 0x1000, PROT_NONE), 0);
    run_load_from(0x10008);
    cr_assert_eq(t.vcpu->exit.kind, EXIT_INTERNAL, "exit %s", exit_kind_name(t.vcpu->exit.kind));
    cr_expect_eq(t.vcpu->exit.u.internal.code, SOFT_INTERNAL_HOST_FAULT);
    cr_expect_eq(t.vcpu->exit.u.internal.detail, 0x10008);
    cr_assert_eq(mprotect(page, 0x1000, PROT_READ | PROT_WRITE), 0);
    run_load_from(0x10000);
    cr_assert_eq(t.vcpu->exit.kind, EXIT_PIO, "runs again: exit %s", exit_kind_name(t.vcpu->exit.kind));
    cr_expect_eq(t.vcpu->exit.u.pio.data, 0x1234);
    /* Gone: replaced by an inaccessible mapping in one step (after a plain munmap the
     * address may be reused by anything in the process, the JIT's code memory for one,
     * and then the guest reads that: a contract violation no check can see). */
    cr_assert_neq(mmap(page, 0x1000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), MAP_FAILED);
    run_load_from(0x10010);
    cr_assert_eq(t.vcpu->exit.kind, EXIT_INTERNAL, "unmapped: exit %s", exit_kind_name(t.vcpu->exit.kind));
    cr_expect_eq(t.vcpu->exit.u.internal.detail, 0x10010);
    munmap(page, 0x1000);
}

/* The byte comparison behind every check: each length up to a few words, a difference
 * at each position (the last partial word is compared as an overlapping one). */
Test(mem, byte_checks_see_a_difference_anywhere)
{
    uint8_t a[40], b[40];
    for (uint32_t i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (uint8_t)(i * 7 + 1);
    for (uint32_t n = 0; n <= sizeof(a); n++) {
        cr_expect(soft_same_bytes(a, b, n), "equal, %u bytes", n);
        for (uint32_t p = 0; p < n; p++) {
            b[p] ^= 0x10;
            cr_expect(!soft_same_bytes(a, b, n), "%u bytes, differing at %u", n, p);
            b[p] ^= 0x10;
        }
    }
}
