/* MMIO and port-I/O guest for a client that emulates every access (64-bit mode,
 * CPL0; the client enters it in long mode with CR3 = pml4 of this image). Stores
 * then loads of 1, 2, 4 and 8 bytes to the device at MMIO_BASE (unmapped), IN/OUT
 * with immediate and DX ports, INS/OUTS and their REP forms, then a store to the
 * read-only page RO_PAGE. Loaded values go to `results` for the client to check. */
#define MMIO_BASE 0x40000000
#define RO_PAGE 0x100000
#define PORT_DATA 0x3f8
#define PORT_IMM 0x80

    .section .text.start, "ax"
    .code64
    .globl _start
_start:
    mov     $MMIO_BASE, %edi
    lea     results(%rip), %rbx
    movb    $0x11, (%rdi)
    movw    $0x2222, 2(%rdi)
    movl    $0x33333333, 4(%rdi)
    movabs  $0x4444444444444444, %rax
    movq    %rax, 8(%rdi)
    movb    (%rdi), %al
    movb    %al, 0(%rbx)
    movw    2(%rdi), %ax
    movw    %ax, 2(%rbx)
    movl    4(%rdi), %eax
    movl    %eax, 4(%rbx)
    movq    8(%rdi), %rax
    movq    %rax, 8(%rbx)
    /* port I/O */
    mov     $0x5a, %al
    outb    %al, $PORT_IMM
    mov     $PORT_DATA, %dx
    mov     $0x1234, %ax
    outw    %ax, %dx
    mov     $0x89abcdef, %eax
    outl    %eax, %dx
    inb     $PORT_IMM, %al
    movb    %al, 16(%rbx)
    inw     %dx, %ax
    movw    %ax, 18(%rbx)
    inl     %dx, %eax
    movl    %eax, 20(%rbx)
    /* string I/O */
    cld
    lea     src(%rip), %rsi
    outsb
    mov     $3, %ecx
    rep outsb
    lea     dst(%rip), %rdi
    insb
    mov     $3, %ecx
    rep insb
    /* a store to read-only memory */
    movl    $0x55, RO_PAGE
    hlt
1:  jmp     1b

    .section .data
src:     .ascii "ABCD"
    .p2align 3
results: .fill 24, 1, 0
dst:     .fill 8, 1, 0
    .p2align 12
    .globl pml4
pml4:   .quad pdpt + 0x3
    .fill 511, 8, 0
pdpt:   .quad pd_low + 0x3
    .quad pd_mmio + 0x3
    .fill 510, 8, 0
pd_low: .quad 0x83                   /* 0..2 MiB, present + writable, 2 MiB page */
    .fill 511, 8, 0
pd_mmio: .quad MMIO_BASE + 0x83      /* the device's 2 MiB */
    .fill 511, 8, 0
