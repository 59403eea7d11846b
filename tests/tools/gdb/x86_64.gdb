set pagination off
set confirm off
target remote :@PORT@
info registers rip
monitor icount
stepi
monitor icount
info registers rip
break demo_putc
continue
info registers rip
x/2xb $pc
p/x $cr0
p/x $efer
p/x $cs
p $xmm0.v4_int32
p/x $r15
set var $r15 = 0x1234abcd
p/x $r15
set var $r15 = 0
delete
watch *(char *)((char *)&sieve + 4)
continue
delete
python
try:
    gdb.execute("x/1xb 0x40000000")
except gdb.MemoryError as e:
    print("unmapped:", e)
end
monitor exits
monitor tlb
continue
