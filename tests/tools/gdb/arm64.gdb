set pagination off
set confirm off
target remote :@PORT@
info registers pc cpsr
monitor icount
stepi
monitor icount
info registers pc
break demo_putc
continue
info registers pc
p/x $sctlr_el1
p/x $sp
p $v0.d.u
p/x $x20
set var $x20 = 0x1234abcd
p/x $x20
set var $x20 = 0
delete
watch *(char *)((char *)&sieve + 4)
continue
info registers pc
delete
rwatch *(char *)((char *)&sieve + 8)
continue
delete
monitor exits
continue
