set pagination off
set confirm off
target remote :@PORT@
break demo_putc
continue
monitor icount
continue
monitor icount
continue
monitor icount
reverse-continue
monitor icount
stepi
monitor icount
set $pc1 = $pc
stepi
monitor icount
reverse-stepi
monitor icount
p $pc == $pc1
reverse-stepi
monitor icount
info registers rip
delete
reverse-continue
monitor icount
continue
