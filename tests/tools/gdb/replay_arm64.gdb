set pagination off
set confirm off
target remote :@PORT@
break got
continue
monitor icount
continue
monitor icount
continue
monitor icount
stepi
monitor icount
info symbol $pc
reverse-stepi
monitor icount
info symbol $pc
reverse-stepi
monitor icount
info symbol $pc
reverse-continue
monitor icount
delete
continue
