/* A Multiboot (v1) image for anyhv-run's PC machine that lives on the PIT: the 8259
 * remapped to vectors 0x20-0x2f with only IRQ 0 open, PIT channel 0 as a 1 kHz rate
 * generator, and TICKS rounds of STI; HLT, each woken by the timer's interrupt. After
 * every wake-up it prints what the devices' clocks say then - the ACPI PM timer, the
 * latched PIT count, the TSC's low word - and after the halts it spins (no HLT) through
 * SPIN_TICKS more ticks counting loop turns, then prints the CMOS clock; all of it is a
 * function of guest time, so two deterministic runs print the same lines and two runs
 * on the host clock do not. Ends through isa-debug-exit with code 0x21 (status 67).
 * Output: "T <pm> <pit> <tsc>\n" per halt, "S <turns>\n" per spun tick, then
 * "C <sec> <min> <hour> <day> <mon> <year>\n" and "done\n". */
#define TICKS 20
#define SPIN_TICKS 5
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_RELOAD 1193          /* 1.193182 MHz / 1193: about 1 kHz */
#define PM_TMR 0x608
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define UART 0x3f8
#define DEBUG_EXIT 0xf4
#define IRQ0_VECTOR 0x20
#define CODE_SEL 0x08            /* our own GDT (Multiboot leaves that to the kernel) */
#define DATA_SEL 0x10

    .section .text.start, "ax"
    .code32
    .align 4
    .long 0x1badb002
    .long 0
    .long -0x1badb002
    .globl _start
_start:
    mov $0x80000, %esp
    lgdt gdtr
    ljmp $CODE_SEL, $1f
1:  mov $DATA_SEL, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    /* IDT entry 0x20: a 32-bit interrupt gate to irq0. */
    mov $irq0, %eax
    mov $idt + IRQ0_VECTOR * 8, %edi
    mov %ax, (%edi)
    movw $CODE_SEL, 2(%edi)
    movw $0x8e00, 4(%edi)
    shr $16, %eax
    mov %ax, 6(%edi)
    lidt idtr
    /* 8259s: ICW1 (edge, cascade, ICW4), ICW2 bases 0x20/0x28, ICW3, ICW4 (8086). */
    mov $0x11, %al
    out %al, $PIC1_CMD
    out %al, $PIC2_CMD
    mov $IRQ0_VECTOR, %al
    out %al, $PIC1_DATA
    mov $IRQ0_VECTOR + 8, %al
    out %al, $PIC2_DATA
    mov $4, %al
    out %al, $PIC1_DATA
    mov $2, %al
    out %al, $PIC2_DATA
    mov $1, %al
    out %al, $PIC1_DATA
    out %al, $PIC2_DATA
    mov $0xfe, %al              /* only IRQ 0 */
    out %al, $PIC1_DATA
    mov $0xff, %al
    out %al, $PIC2_DATA
    /* PIT channel 0: lo/hi access, mode 2. */
    mov $0x34, %al
    out %al, $PIT_CMD
    mov $PIT_RELOAD & 0xff, %al
    out %al, $PIT_CH0
    mov $PIT_RELOAD >> 8, %al
    out %al, $PIT_CH0
    mov $TICKS, %ecx
1:  sti
    hlt
    cli
    mov $'T', %al
    call putc
    mov $PM_TMR, %dx
    in %dx, %eax
    call puthex_sp
    mov $0x00, %al              /* latch channel 0 */
    out %al, $PIT_CMD
    in $PIT_CH0, %al
    mov %al, %bl
    in $PIT_CH0, %al
    mov %al, %bh
    movzx %bx, %eax
    call puthex_sp
    rdtsc
    call puthex_sp
    mov $'\n', %al
    call putc
    loop 1b
    /* Spin through SPIN_TICKS ticks with interrupts on, counting turns. */
    mov $SPIN_TICKS, %ecx
2:  mov ticks, %ebx
    xor %esi, %esi
    sti
3:  inc %esi
    cmp ticks, %ebx
    je 3b
    cli
    mov $'S', %al
    call putc
    mov %esi, %eax
    call puthex_sp
    mov $'\n', %al
    call putc
    loop 2b
    /* The CMOS clock: seconds, minutes, hours, day, month, year. */
    mov $'C', %al
    call putc
    mov $cmos_regs, %esi
4:  lodsb
    cmp $0xff, %al
    je 5f
    out %al, $CMOS_INDEX
    in $CMOS_DATA, %al
    movzx %al, %eax
    call puthex_sp
    jmp 4b
5:  mov $msg_done, %esi
6:  lodsb
    test %al, %al
    jz 7f
    call putc
    jmp 6b
7:  mov $0x21, %al
    out %al, $DEBUG_EXIT
8:  hlt
    jmp 8b

irq0:
    push %eax
    incl ticks
    mov $0x20, %al              /* non-specific EOI */
    out %al, $PIC1_CMD
    pop %eax
    iret

putc:
    push %edx
    mov $UART, %dx
    out %al, %dx
    pop %edx
    ret

/* " " then EAX in hex. */
puthex_sp:
    push %ecx
    push %ebx
    mov %eax, %ebx
    mov $' ', %al
    call putc
    mov $8, %ecx
1:  rol $4, %ebx
    mov %bl, %al
    and $15, %al
    add $'0', %al
    cmp $'9', %al
    jbe 2f
    add $'a' - '9' - 1, %al
2:  call putc
    loop 1b
    pop %ebx
    pop %ecx
    ret

    .section .rodata
cmos_regs: .byte 0, 2, 4, 7, 8, 9, 0xff
msg_done: .asciz "\ndone\n"
idtr:
    .word 256 * 8 - 1
    .long idt
    .align 8
gdt:
    .quad 0
    .quad 0x00cf9b000000ffff    /* flat 32-bit code */
    .quad 0x00cf93000000ffff    /* flat data */
gdtr:
    .word 3 * 8 - 1
    .long gdt

    .section .bss
    .balign 4096                /* not in a code page (stores there flush its code) */
idt: .space 256 * 8
ticks: .long 0
