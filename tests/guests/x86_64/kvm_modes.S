/* Mode-switching guest: real mode -> 32-bit protected mode -> long mode with
 * 4-level paging, printing one line per mode through the 8250 data port 0x3f8,
 * then HLT. EFER.LME is set with RDMSR/WRMSR, which exit to the client (EFER is not
 * a native MSR). The client starts it at CS:IP = 0000:8000 with every segment 0. */
#define COM1 0x3f8
#define EFER 0xc0000080
#define EFER_LME 0x100
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define SEL_CODE32 0x08
#define SEL_DATA 0x10
#define SEL_CODE64 0x18
#define STACK_TOP 0x7000

    .section .text.start, "ax"
    .code16
    .globl _start
_start:
    cli
    xor     %ax, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     $STACK_TOP, %sp
    mov     $msg16, %si
    mov     $COM1, %dx
1:  lodsb
    test    %al, %al
    jz      2f
    outb    %al, %dx
    jmp     1b
2:  lgdtl   gdt_desc
    mov     %cr0, %eax
    or      $CR0_PE, %eax
    mov     %eax, %cr0
    ljmpl   $SEL_CODE32, $pm32

    .code32
pm32:
    mov     $SEL_DATA, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     $STACK_TOP, %esp
    mov     $msg32, %esi
    mov     $COM1, %dx
1:  lodsb
    test    %al, %al
    jz      2f
    outb    %al, %dx
    jmp     1b
2:  mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $pml4, %eax
    mov     %eax, %cr3
    mov     $EFER, %ecx
    rdmsr
    or      $EFER_LME, %eax
    wrmsr
    mov     %cr0, %eax
    or      $CR0_PG, %eax
    mov     %eax, %cr0
    ljmpl   $SEL_CODE64, $lm64

    .code64
lm64:
    mov     $SEL_DATA, %ax
    mov     %ax, %ds
    mov     %ax, %ss
    lea     msg64(%rip), %rsi
    mov     $COM1, %dx
1:  lodsb
    test    %al, %al
    jz      2f
    outb    %al, %dx
    jmp     1b
2:  hlt
    jmp     2b

    .section .rodata
msg16: .asciz "real\n"
msg32: .asciz "prot\n"
msg64: .asciz "long\n"
    .p2align 3
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08: 32-bit code, flat */
    .quad 0x00cf92000000ffff    /* 0x10: data, flat */
    .quad 0x00af9a000000ffff    /* 0x18: 64-bit code */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt

    .section .data
    .p2align 12
pml4:   .quad pdpt + 0x3
    .fill 511, 8, 0
pdpt:   .quad pd + 0x3
    .fill 511, 8, 0
pd:     .quad 0x83                  /* 2 MiB page at 0, present + writable */
    .fill 511, 8, 0
