/* anyhv-run, arm64 board: the flattened device tree (libfdt) a Linux kernel or a
 * bare-metal suite written for a QEMU-virt-like board reads from x0, and loading a
 * Linux Image by the arm64 boot protocol (Documentation/arch/arm64/booting.rst):
 * the kernel at a 2 MiB-aligned base + text_offset, the DT 8-byte aligned in the top
 * 2 MiB of RAM, the initrd just below it. */
#include <errno.h>
#include <inttypes.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

#include "arm64_machine.h"
#include "run.h"

#define IMAGE_MAGIC 0x644d5241u          /* "ARM\x64" at offset 0x38 */
#define IMAGE_HEADER_SIZE 64u
#define KERNEL_ALIGN 0x200000ull
#define PAGE 0x1000ull
#define GIC_PHANDLE 1u
#define CLK_PHANDLE 2u
#define FDT_IRQ_SPI 0u
#define FDT_IRQ_PPI 1u
#define FDT_IRQ_LEVEL_HIGH 4u
#define REDIST_BYTES 0x20000ull

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A reg property of one (address, size) pair in 2+2 cells. */
static int fdt_reg(void *fdt, uint64_t addr, uint64_t size)
{
    fdt64_t v[2] = { cpu_to_fdt64(addr), cpu_to_fdt64(size) };
    return fdt_property(fdt, "reg", v, sizeof(v));
}

static int fdt_irq(void *fdt, const char *name, const uint32_t *cells, unsigned n)
{
    fdt32_t v[12];
    for (unsigned i = 0; i < n; i++)
        v[i] = cpu_to_fdt32(cells[i]);
    return fdt_property(fdt, name, v, n * sizeof(fdt32_t));
}

static int fdt_cpus(void *fdt, const struct a64_board *b)
{
    int err = fdt_begin_node(fdt, "cpus");
    err = err ? err : fdt_property_u32(fdt, "#address-cells", 1);
    err = err ? err : fdt_property_u32(fdt, "#size-cells", 0);
    for (unsigned i = 0; i < b->ncpus && !err; i++) {
        char name[16];
        snprintf(name, sizeof(name), "cpu@%u", i);
        err = fdt_begin_node(fdt, name);
        err = err ? err : fdt_property_string(fdt, "device_type", "cpu");
        err = err ? err : fdt_property_string(fdt, "compatible", "arm,armv8");
        err = err ? err : fdt_property_u32(fdt, "reg", i);   /* MPIDR Aff0 = vCPU id */
        err = err ? err : fdt_property_string(fdt, "enable-method", "psci");
        err = err ? err : fdt_end_node(fdt);
    }
    return err ? err : fdt_end_node(fdt);
}

static int fdt_gic(void *fdt, const struct a64_board *b)
{
    char name[32];
    snprintf(name, sizeof(name), "intc@%" PRIx64, (uint64_t)A64M_GICD_BASE);
    fdt64_t reg[4] = { cpu_to_fdt64(A64M_GICD_BASE), cpu_to_fdt64(0x10000), cpu_to_fdt64(A64M_GICR_BASE),
                       cpu_to_fdt64(REDIST_BYTES * b->ncpus) };
    int err = fdt_begin_node(fdt, name);
    err = err ? err : fdt_property_string(fdt, "compatible", "arm,gic-v3");
    err = err ? err : fdt_property_u32(fdt, "#interrupt-cells", 3);
    err = err ? err : fdt_property(fdt, "interrupt-controller", NULL, 0);
    err = err ? err : fdt_property(fdt, "reg", reg, sizeof(reg));
    err = err ? err : fdt_property_u32(fdt, "#redistributor-regions", 1);
    err = err ? err : fdt_property_u32(fdt, "phandle", GIC_PHANDLE);
    return err ? err : fdt_end_node(fdt);
}

static int fdt_devices(void *fdt)
{
    /* The timer's PPIs (secure phys 29, phys 30, virt 27, hyp 26) as PPI numbers. */
    const uint32_t timer[12] = { FDT_IRQ_PPI, 13, FDT_IRQ_LEVEL_HIGH, FDT_IRQ_PPI, 14, FDT_IRQ_LEVEL_HIGH,
                                 FDT_IRQ_PPI, 11, FDT_IRQ_LEVEL_HIGH, FDT_IRQ_PPI, 10, FDT_IRQ_LEVEL_HIGH };
    const uint32_t uart[3] = { FDT_IRQ_SPI, A64M_UART_SPI, FDT_IRQ_LEVEL_HIGH };
    const fdt32_t clocks[2] = { cpu_to_fdt32(CLK_PHANDLE), cpu_to_fdt32(CLK_PHANDLE) };
    int err = fdt_begin_node(fdt, "psci");
    err = err ? err : fdt_property(fdt, "compatible", "arm,psci-1.0\0arm,psci-0.2", sizeof("arm,psci-1.0\0arm,psci-0.2"));
    err = err ? err : fdt_property_string(fdt, "method", "hvc");
    err = err ? err : fdt_end_node(fdt);
    err = err ? err : fdt_begin_node(fdt, "timer");
    err = err ? err : fdt_property_string(fdt, "compatible", "arm,armv8-timer");
    err = err ? err : fdt_irq(fdt, "interrupts", timer, 12);
    err = err ? err : fdt_property(fdt, "always-on", NULL, 0);
    err = err ? err : fdt_end_node(fdt);
    err = err ? err : fdt_begin_node(fdt, "apb-pclk");
    err = err ? err : fdt_property_string(fdt, "compatible", "fixed-clock");
    err = err ? err : fdt_property_u32(fdt, "#clock-cells", 0);
    err = err ? err : fdt_property_u32(fdt, "clock-frequency", A64M_CNTFRQ);
    err = err ? err : fdt_property_string(fdt, "clock-output-names", "clk24mhz");
    err = err ? err : fdt_property_u32(fdt, "phandle", CLK_PHANDLE);
    err = err ? err : fdt_end_node(fdt);
    err = err ? err : fdt_begin_node(fdt, "pl011@9000000");
    err = err ? err : fdt_property(fdt, "compatible", "arm,pl011\0arm,primecell", sizeof("arm,pl011\0arm,primecell"));
    err = err ? err : fdt_reg(fdt, A64M_PL011_BASE, A64M_PL011_SIZE);
    err = err ? err : fdt_irq(fdt, "interrupts", uart, 3);
    err = err ? err : fdt_property(fdt, "clocks", clocks, sizeof(clocks));
    err = err ? err : fdt_property(fdt, "clock-names", "uartclk\0apb_pclk", sizeof("uartclk\0apb_pclk"));
    return err ? err : fdt_end_node(fdt);
}

static int fdt_chosen(void *fdt, const struct a64_board *b)
{
    int err = fdt_begin_node(fdt, "chosen");
    if (!err && b->bootargs)
        err = fdt_property_string(fdt, "bootargs", b->bootargs);
    err = err ? err : fdt_property_string(fdt, "stdout-path", "/pl011@9000000");
    if (!err && b->initrd_end > b->initrd_start) {
        err = fdt_property_u64(fdt, "linux,initrd-start", b->initrd_start);
        err = err ? err : fdt_property_u64(fdt, "linux,initrd-end", b->initrd_end);
    }
    return err ? err : fdt_end_node(fdt);
}

int a64_fdt_build(void *buf, size_t size, const struct a64_board *b)
{
    char mem[32];
    snprintf(mem, sizeof(mem), "memory@%" PRIx64, b->ram_base);
    int err = fdt_create(buf, (int)size);
    err = err ? err : fdt_finish_reservemap(buf);
    err = err ? err : fdt_begin_node(buf, "");
    err = err ? err : fdt_property_string(buf, "compatible", "linux,dummy-virt");
    err = err ? err : fdt_property_u32(buf, "#address-cells", 2);
    err = err ? err : fdt_property_u32(buf, "#size-cells", 2);
    err = err ? err : fdt_property_u32(buf, "interrupt-parent", GIC_PHANDLE);
    err = err ? err : fdt_chosen(buf, b);
    err = err ? err : fdt_begin_node(buf, mem);
    err = err ? err : fdt_property_string(buf, "device_type", "memory");
    err = err ? err : fdt_reg(buf, b->ram_base, b->ram_size);
    err = err ? err : fdt_end_node(buf);
    err = err ? err : fdt_cpus(buf, b);
    err = err ? err : fdt_gic(buf, b);
    err = err ? err : fdt_devices(buf);
    err = err ? err : fdt_end_node(buf);
    err = err ? err : fdt_finish(buf);
    return err;
}

/* Reads a whole file into malloc'ed memory (NULL with a message on failure). */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "anyhv-run: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    uint8_t *data = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 1u << 20;
            uint8_t *p = realloc(data, cap);
            if (!p) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = p;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
    } while (got);
    fclose(f);
    *len = n;
    return data;
}

int a64_linux_load(const char *kernel, const char *initrd, uint8_t *ram, uint64_t ram_base, uint64_t ram_size,
                   uint64_t *entry, uint64_t *initrd_start, uint64_t *initrd_end)
{
    size_t klen = 0, ilen = 0;
    uint8_t *k = read_file(kernel, &klen);
    if (!k)
        return RUN_NO_INPUT;
    if (klen < IMAGE_HEADER_SIZE || le32(k + 0x38) != IMAGE_MAGIC) {
        fprintf(stderr, "anyhv-run: '%s' is not an arm64 Linux Image (no ARM\\x64 magic; decompress vmlinuz first)\n",
                kernel);
        free(k);
        return RUN_BAD_IMAGE;
    }
    uint64_t text_offset = le64(k + 8), image_size = le64(k + 16);
    if (image_size < klen)
        image_size = klen;   /* pre-3.17 kernels leave it 0 */
    uint64_t top = ram_size - A64M_DT_SPACE;   /* RAM offsets below the DT */
    if (text_offset >= top || image_size > top - text_offset) {
        fprintf(stderr, "anyhv-run: the kernel needs %" PRIu64 " MiB; give more --mem\n", (image_size >> 20) + 3);
        free(k);
        return RUN_BAD_IMAGE;
    }
    memcpy(ram + text_offset, k, klen);
    free(k);
    *entry = ram_base + text_offset;
    *initrd_start = *initrd_end = 0;
    if (!initrd)
        return RUN_OK;
    uint8_t *rd = read_file(initrd, &ilen);
    if (!rd)
        return RUN_NO_INPUT;
    uint64_t kernel_end = (text_offset + image_size + KERNEL_ALIGN - 1) & ~(KERNEL_ALIGN - 1);
    if (ilen > top - kernel_end) {
        fprintf(stderr, "anyhv-run: no room for the %zu-byte initrd; give more --mem\n", ilen);
        free(rd);
        return RUN_BAD_IMAGE;
    }
    uint64_t start = (top - ilen) & ~(PAGE - 1);
    memcpy(ram + start, rd, ilen);
    free(rd);
    *initrd_start = ram_base + start;
    *initrd_end = ram_base + start + ilen;
    return RUN_OK;
}
