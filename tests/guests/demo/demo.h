/* The demo guest's view of its platform: one character out, and the name of the
 * architecture. Each platform file (and the native oracle in tests/tools) supplies them. */
#ifndef ANYHV_DEMO_H
#define ANYHV_DEMO_H

void demo_putc(char c);
const char *demo_arch(void);
int demo_main(void);

#endif
