set pagination off
set confirm off
target remote :@PORT@
show architecture
info registers eip
p sizeof($eip)
p sizeof($eax)
monitor icount
stepi
monitor icount
info registers eip
x/i $pc
break demo_putc
continue
info registers eip
p/x $cr0
p/x $efer
p/x $cs
p $xmm7.v4_int32
set $saved = $edi
set var $edi = 0x1234abcd
p/x $edi
set var $edi = $saved
p $esp == $sp
delete
watch *(char *)((char *)&sieve + 4)
continue
delete
python
try:
    gdb.execute("p $rax")
except gdb.error as e:
    print("no 64-bit registers:", e)
end
monitor exits
continue
