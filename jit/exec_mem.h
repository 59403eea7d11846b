/* exec_mem.h - executable memory for code anyhv writes itself (the interpreter's
 * native programs): small pieces carved from large mappings, reused by size class. */
#ifndef ANYHV_JIT_EXEC_MEM_H
#define ANYHV_JIT_EXEC_MEM_H

#include <stddef.h>

/* Room for n bytes of code, writable and executable, or NULL (no memory, or a host
 * that refuses writable executable mappings). */
void *exec_mem_alloc(size_t n);
/* Give back what exec_mem_alloc(n) returned (p may be NULL). */
void exec_mem_free(void *p, size_t n);

#endif /* ANYHV_JIT_EXEC_MEM_H */
