set pagination off
set confirm off
target remote :@PORT@
break demo_putc
continue
info registers rip
stepi
info registers rip
stepi
info registers rip
p/x $cr0
delete
kill
