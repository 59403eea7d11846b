/* A Multiboot (v1) bare-metal image in the style of QEMU test kernels, for anyhv-run's
 * PC machine: checks the boot magic, prints the command line from the multiboot
 * information, the CPU count from fw_cfg, the CPUID vendor's first letter, writes and
 * reads back GS_BASE by WRMSR/RDMSR, and ends through isa-debug-exit with code 0x21
 * (status (0x21 << 1) | 1 = 67). Output: "MB <cmdline> cpus=<n> <G> msr=ok\n". */
    .section .text.start, "ax"
    .code32
    .align 4
    .long 0x1badb002            /* magic */
    .long 0                     /* flags: load the ELF's segments */
    .long -0x1badb002           /* checksum */
    .globl _start
_start:
    mov $0x80000, %esp          /* Multiboot leaves the stack to the kernel */
    cmp $0x2badb002, %eax
    jne fail
    mov $'M', %al
    call putc
    mov $'B', %al
    call putc
    mov $' ', %al
    call putc
    testl $4, (%ebx)            /* command line present */
    jz fail
    mov 16(%ebx), %esi
1:  lodsb
    test %al, %al
    jz 2f
    call putc
    jmp 1b
2:  mov $msg_cpus, %esi
    call puts
    mov $0x510, %dx             /* fw_cfg: select FW_CFG_NB_CPUS */
    mov $5, %ax
    outw %ax, %dx
    mov $0x511, %dx
    inb %dx, %al
    add $'0', %al
    call putc
    mov $' ', %al
    call putc
    xor %eax, %eax              /* CPUID vendor: "GenuineIntel" starts with G */
    cpuid
    mov %bl, %al
    call putc
    mov $0xc0000101, %ecx       /* GS_BASE round trip */
    mov $0x12345678, %eax
    xor %edx, %edx
    wrmsr
    xor %eax, %eax
    rdmsr
    cmp $0x12345678, %eax
    jne fail
    mov $msg_ok, %esi
    call puts
    mov $0x21, %al              /* isa-debug-exit */
    out %al, $0xf4
fail:
    hlt
    jmp fail

putc:
    push %edx
    mov $0x3f8, %dx
    out %al, %dx
    pop %edx
    ret

puts:
    lodsb
    test %al, %al
    jz 1f
    call putc
    jmp puts
1:  ret

    .section .rodata
msg_cpus: .asciz " cpus="
msg_ok: .asciz " msr=ok\n"
