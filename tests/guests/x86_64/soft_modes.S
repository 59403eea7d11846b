/* soft_modes.S - a guest that walks the x86 modes and their system semantics and
 * reports each step as one character on the debug port 0xe9 (an I/O exit):
 *   R  real mode: INT 40h through the IVT, IRET
 *   P  16 -> 32-bit protected mode by CR0.PE and a far jump
 *   D  #DE through a 32-bit interrupt gate; the handler skips the DIV
 *   L  PAE paging, EFER.LME (WRMSR, native for this client), CR0.PG, far jump to 64-bit
 *   F  #PF on a write to an unmapped 2 MiB page: the handler checks CR2 and the
 *      error code, maps the page, IRETQ retries the write
 *   G  #GP from a non-canonical address; the handler skips the load
 *   I  INT 80h through a gate with IST 1: the handler runs on the IST stack
 *   U  IRETQ to CPL3, SYSCALL to CPL0 (LSTAR) and SYSRETQ back
 *   S  INT 81h from CPL3 through a DPL3 gate: stack switch to TSS.RSP0
 * then INT 82h from CPL3 prints a newline and HLTs at CPL0. A failed check prints
 * '!' and HLTs. The client loads it at 0x8000 and starts it at 0000:8000. */
#define PORT 0xe9
#define STACK 0x7000
#define PML4 0x20000
#define PDPT 0x21000
#define PD 0x22000
#define IDT 0x23000
#define TSS 0x24000
#define IST1_TOP 0x26000
#define RSP0_TOP 0x28000
#define USTACK_TOP 0x2a000
#define UNMAPPED 0x400000
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084

    .code16
    .section .text.start, "ax"
    .globl _start
_start:
    cli
    xor     %ax, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     $STACK, %sp
    movw    $rm_int40, 0x40*4
    movw    $0, 0x40*4+2
    mov     $'R', %al
    int     $0x40
    lgdtl   gdt_desc
    mov     %cr0, %eax
    or      $1, %eax
    mov     %eax, %cr0
    ljmpl   $0x08, $pm32

rm_int40:
    outb    %al, $PORT
    iret

    .code32
pm32:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     $STACK, %esp
    mov     $'P', %al
    outb    %al, $PORT
    /* IDT32 with one gate: #DE */
    mov     $de32, %eax
    mov     %ax, idt32
    movw    $0x08, idt32+2
    movw    $0x8e00, idt32+4
    shr     $16, %eax
    mov     %ax, idt32+6
    lidt    idt32_desc
    xor     %edx, %edx
    mov     $1, %eax
    xor     %ecx, %ecx
    div     %ecx
    cmp     $0x1d, %ebx
    jne     fail32
    /* page tables: PML4 -> PDPT -> PD, 2 MiB page at 0 */
    movl    $(PDPT | 7), PML4
    movl    $0, PML4+4
    movl    $(PD | 7), PDPT
    movl    $0, PDPT+4
    movl    $0x87, PD
    movl    $0, PD+4
    mov     $PML4, %eax
    mov     %eax, %cr3
    mov     %cr4, %eax
    or      $0x20, %eax
    mov     %eax, %cr4
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $0x901, %eax          /* LME, NXE, SCE */
    wrmsr
    mov     %cr0, %eax
    or      $0x80000000, %eax
    mov     %eax, %cr0
    ljmpl   $0x18, $lm64

de32:
    mov     $'D', %al
    outb    %al, $PORT
    mov     $0x1d, %ebx
    addl    $2, (%esp)            /* skip the 2-byte DIV */
    iret

fail32:
    mov     $'!', %al
    outb    %al, $PORT
    hlt

    .code64
lm64:
    mov     $0x20, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     $STACK, %rsp
    mov     $'L', %al
    outb    %al, $PORT
    /* IDT64: gate(vector=%edi, handler=%rsi, ist=%edx, dpl=%ecx) */
    mov     $14, %edi
    lea     pf64(%rip), %rsi
    xor     %edx, %edx
    xor     %ecx, %ecx
    call    set_gate
    mov     $13, %edi
    lea     gp64(%rip), %rsi
    call    set_gate
    mov     $0x80, %edi
    lea     int80(%rip), %rsi
    mov     $1, %edx
    call    set_gate
    mov     $0x81, %edi
    lea     int81(%rip), %rsi
    xor     %edx, %edx
    mov     $3, %ecx
    call    set_gate
    mov     $0x82, %edi
    lea     int82(%rip), %rsi
    call    set_gate
    lidt    idt64_desc(%rip)
    /* TSS: RSP0 and IST1, descriptor at 0x38, LTR */
    movq    $RSP0_TOP, TSS+4
    movq    $IST1_TOP, TSS+0x24
    movw    $0x67, gdt+0x38
    movw    $TSS & 0xffff, gdt+0x3a
    movb    $(TSS >> 16), gdt+0x3c
    movb    $0x89, gdt+0x3d
    mov     $0x38, %ax
    ltr     %ax
    /* #PF: write to an unmapped 2 MiB page */
    movl    $0x5a5a5a5a, UNMAPPED+0x100
    cmpl    $0x5a5a5a5a, 0x100
    jne     fail64
    /* #GP: non-canonical load, skipped by the handler (3 bytes) */
    movabs  $0x8000000000000000, %rbx
    mov     (%rbx), %rax
    cmp     $0x6767, %rax
    jne     fail64
    /* INT 80h on IST1 */
    int     $0x80
    /* to CPL3 */
    mov     $MSR_STAR, %ecx
    xor     %eax, %eax
    mov     $0x00200018, %edx     /* SYSRET base 0x20, SYSCALL CS 0x18 */
    wrmsr
    mov     $MSR_LSTAR, %ecx
    lea     syscall64(%rip), %rax
    mov     %rax, %rdx
    shr     $32, %rdx
    wrmsr
    mov     $MSR_FMASK, %ecx
    mov     $0x200, %eax
    xor     %edx, %edx
    wrmsr
    pushq   $0x2b
    pushq   $USTACK_TOP
    pushq   $0x2
    pushq   $0x33
    lea     user(%rip), %rax
    push    %rax
    iretq

user:
    syscall
    cmp     $0x5c, %r12
    jne     user_fail
    int     $0x81
    int     $0x82
user_fail:
    int     $0x83                 /* no gate: ends in a fault the client reports */

syscall64:
    mov     $'U', %al
    outb    %al, $PORT
    mov     $0x5c, %r12
    sysretq

pf64:
    mov     %cr2, %rax
    cmp     $UNMAPPED+0x100, %rax
    jne     fail64
    cmpq    $2, (%rsp)            /* error code: write, not present, supervisor */
    jne     fail64
    movq    $0x83, PD+16          /* map 4 MiB..6 MiB to physical 0 */
    mov     %cr3, %rax
    mov     %rax, %cr3
    mov     $'F', %al
    outb    %al, $PORT
    add     $8, %rsp
    iretq

gp64:
    cmpq    $0, (%rsp)
    jne     fail64
    addq    $3, 8(%rsp)           /* skip mov (%rbx),%rax */
    mov     $0x6767, %rax
    mov     $'G', %bl
    xchg    %al, %bl
    outb    %al, $PORT
    xchg    %al, %bl
    add     $8, %rsp
    iretq

int80:
    mov     %rsp, %rax
    cmp     $IST1_TOP, %rax
    ja      fail64
    cmp     $IST1_TOP-0x100, %rax
    jb      fail64
    mov     $'I', %al
    outb    %al, $PORT
    iretq

int81:
    mov     %rsp, %rax
    cmp     $RSP0_TOP-40, %rax
    jne     fail64
    cmpq    $0x2b, 32(%rsp)       /* the stacked SS is the CPL3 one */
    jne     fail64
    mov     $'S', %al
    outb    %al, $PORT
    iretq

int82:
    mov     $'\n', %al
    outb    %al, $PORT
    hlt
    jmp     int82

fail64:
    mov     $'!', %al
    outb    %al, $PORT
    hlt
    jmp     fail64

/* set_gate: vector %edi, handler %rsi, IST %edx, DPL %ecx */
set_gate:
    mov     %edi, %eax
    shl     $4, %eax
    add     $IDT, %rax
    mov     %si, (%rax)
    movw    $0x18, 2(%rax)
    mov     %dl, 4(%rax)
    mov     %cl, %r8b
    shl     $5, %r8b
    or      $0x8e, %r8b
    mov     %r8b, 5(%rax)
    mov     %rsi, %r9
    shr     $16, %r9
    mov     %r9w, 6(%rax)
    shr     $16, %r9
    mov     %r9d, 8(%rax)
    movl    $0, 12(%rax)
    ret

    .section .data
    .p2align 3
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff      /* 0x08 code32 */
    .quad 0x00cf92000000ffff      /* 0x10 data */
    .quad 0x00af9a000000ffff      /* 0x18 code64 */
    .quad 0x00cf92000000ffff      /* 0x20 data64 */
    .quad 0x00cff2000000ffff      /* 0x28 user data */
    .quad 0x00affa000000ffff      /* 0x30 user code64 */
    .quad 0, 0                    /* 0x38 TSS, filled at run time */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt
idt32:
    .quad 0
idt32_desc:
    .word 7
    .long idt32
    .p2align 3
idt64_desc:
    .word 0x84 * 16 - 1
    .quad IDT
