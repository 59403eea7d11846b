/* Snapshots through the Intel flavour (include/anyhv/snapshot.h): a round trip brings
 * back registers, memory and client data; a file of another flavour or format, one
 * from a VM of another shape, and truncated or corrupted files (a fuzz-style sweep,
 * with and without a repaired checksum) are refused with a message and leave the VM
 * untouched and usable. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "support/backend.h"

#define RAM_BYTES (16u << 10)
#define RAM2_GPA 0x100000u
#define RAM2_BYTES 4096u
#define HEADER_BYTES 64u
#define CHECKSUM_OFFSET 56u
#define FLAVOUR_OFFSET 12u
#define FORMAT_OFFSET 8u
#define FUZZ_ROUNDS 200u

static hv_vcpuid_t vcpu;
static uint8_t *ram, *ram2;
static char path[64];
static uint8_t *file;
static size_t file_len;
static const char client[] = "device state";

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* The format's checksum: FNV-1a 64 of the file with the checksum field zero. */
static void repair_checksum(uint8_t *buf, size_t len)
{
    memset(buf + CHECKSUM_OFFSET, 0, 8);
    uint64_t h = fnv(buf, len);
    memcpy(buf + CHECKSUM_OFFSET, &h, 8);
}

static hv_return_t restore_bytes(const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
    char got[64];
    size_t got_len = 0;
    return anyhv_vm_snapshot_restore(path, got, sizeof(got), &got_len);
}

static uint64_t rax(void)
{
    uint64_t v = 0;
    cr_assert_eq(hv_vcpu_read_register(vcpu, HV_X86_RAX, &v), HV_SUCCESS);
    return v;
}

static void setup(void)
{
    test_require_backend();
    snprintf(path, sizeof(path), "/tmp/anyhv-snap-test-%d", (int)getpid());
    cr_assert_eq(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
    ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ram2 = mmap(NULL, RAM2_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_eq(hv_vm_map(ram, 0, RAM_BYTES, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    cr_assert_eq(hv_vm_map(ram2, RAM2_GPA, RAM2_BYTES, HV_MEMORY_READ), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT), HV_SUCCESS);
    for (unsigned i = 0; i < RAM_BYTES; i++)
        ram[i] = (uint8_t)(i * 7 + 3);
    ram2[5] = 0x5a;
    cr_assert_eq(hv_vcpu_write_register(vcpu, HV_X86_RAX, 0x1122334455667788ull), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_write_register(vcpu, HV_X86_RIP, 0x1000), HV_SUCCESS);
    cr_assert_eq(anyhv_vm_snapshot_save(path, client, sizeof(client)), HV_SUCCESS, "%s", anyhv_snapshot_error());
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    file_len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    file = malloc(file_len);
    cr_assert_eq(fread(file, 1, file_len, f), file_len);
    fclose(f);
    /* What the restores must bring back (or, when refused, leave alone). */
    cr_assert_eq(hv_vcpu_write_register(vcpu, HV_X86_RAX, 0xdead), HV_SUCCESS);
    ram[100] ^= 0xff;
}

static void teardown(void)
{
    unlink(path);
    free(file);
    hv_vcpu_destroy(vcpu);
    hv_vm_destroy();
    munmap(ram, RAM_BYTES);
    munmap(ram2, RAM2_BYTES);
}

TestSuite(x86_snapshot, .init = setup, .fini = teardown);

Test(x86_snapshot, round_trip_restores_registers_memory_and_client_data)
{
    char got[64] = { 0 };
    size_t got_len = 0;
    cr_assert_eq(anyhv_vm_snapshot_restore(path, got, sizeof(got), &got_len), HV_SUCCESS, "%s",
                 anyhv_snapshot_error());
    cr_expect_eq(rax(), 0x1122334455667788ull);
    uint64_t rip = 0;
    hv_vcpu_read_register(vcpu, HV_X86_RIP, &rip);
    cr_expect_eq(rip, 0x1000);
    cr_expect_eq(ram[100], (uint8_t)(100 * 7 + 3));
    cr_expect_eq(ram2[5], 0x5a);
    cr_expect_eq(got_len, sizeof(client));
    cr_expect_str_eq(got, client);
    cr_expect_eq(anyhv_vm_snapshot_restore(path, got, 4, &got_len), HV_BAD_ARGUMENT, "client buffer too small");
}

Test(x86_snapshot, truncated_files_are_refused_and_change_nothing)
{
    for (size_t len = 0; len < file_len; len += len < 2 * HEADER_BYTES ? 1 : 509) {
        cr_assert_eq(restore_bytes(file, len), HV_BAD_ARGUMENT, "length %zu", len);
        cr_assert_neq(anyhv_snapshot_error()[0], 0);
    }
    cr_expect_eq(rax(), 0xdead);
    cr_expect_eq(ram[100], (uint8_t)((100 * 7 + 3) ^ 0xff));
}

Test(x86_snapshot, corrupted_files_are_refused_by_the_checksum)
{
    uint8_t *buf = malloc(file_len);
    uint32_t seed = 12345;
    for (unsigned i = 0; i < FUZZ_ROUNDS; i++) {
        memcpy(buf, file, file_len);
        seed = seed * 1103515245u + 12345u;
        size_t at = (seed >> 4) % file_len;
        buf[at] ^= (uint8_t)(1u << (seed & 7));
        cr_assert_eq(restore_bytes(buf, file_len), HV_BAD_ARGUMENT, "flip at %zu", at);
    }
    free(buf);
    cr_expect_eq(rax(), 0xdead);
}

Test(x86_snapshot, corrupted_records_with_a_repaired_checksum_never_crash)
{
    /* Flips in the header and the records (not the bulk memory bytes), checksum made
     * right again: the parser's own bounds must hold. Any outcome but a crash is fine;
     * the VM stays usable either way. */
    uint8_t *buf = malloc(file_len);
    uint32_t seed = 777;
    size_t span = file_len < 8192 ? file_len : 8192;
    for (unsigned i = 0; i < FUZZ_ROUNDS; i++) {
        memcpy(buf, file, file_len);
        for (unsigned k = 0; k < 1 + i % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 4) % span] = (uint8_t)(seed >> 20);
        }
        repair_checksum(buf, file_len);
        hv_return_t r = restore_bytes(buf, file_len);
        cr_assert(r == HV_SUCCESS || r == HV_BAD_ARGUMENT, "round %u: 0x%x", i, (unsigned)r);
        uint64_t v;
        cr_assert_eq(hv_vcpu_read_register(vcpu, HV_X86_RAX, &v), HV_SUCCESS);
    }
    free(buf);
}

Test(x86_snapshot, another_flavour_or_format_is_named_in_the_error)
{
    uint8_t *buf = malloc(file_len);
    memcpy(buf, file, file_len);
    buf[FLAVOUR_OFFSET] = 1;   /* arm64 */
    repair_checksum(buf, file_len);
    cr_expect_eq(restore_bytes(buf, file_len), HV_BAD_ARGUMENT);
    cr_expect(strstr(anyhv_snapshot_error(), "arm64") != NULL, "%s", anyhv_snapshot_error());
    memcpy(buf, file, file_len);
    buf[FORMAT_OFFSET] = 99;
    repair_checksum(buf, file_len);
    cr_expect_eq(restore_bytes(buf, file_len), HV_BAD_ARGUMENT);
    cr_expect(strstr(anyhv_snapshot_error(), "format 99") != NULL, "%s", anyhv_snapshot_error());
    free(buf);
    cr_expect_eq(rax(), 0xdead);
}

Test(x86_snapshot, a_vm_of_another_shape_is_refused)
{
    cr_assert_eq(hv_vm_unmap(RAM2_GPA, RAM2_BYTES), HV_SUCCESS);
    cr_expect_eq(restore_bytes(file, file_len), HV_BAD_ARGUMENT);
    cr_expect(strstr(anyhv_snapshot_error(), "not mapped") != NULL, "%s", anyhv_snapshot_error());
    cr_expect_eq(ram[100], (uint8_t)((100 * 7 + 3) ^ 0xff), "memory untouched");
    cr_expect_eq(anyhv_vm_snapshot_save(NULL, NULL, 0), HV_BAD_ARGUMENT);
    cr_expect_eq(anyhv_vm_snapshot_save(path, client, ANYHV_SNAPSHOT_CLIENT_MAX + 1), HV_BAD_ARGUMENT);
}
