/* The C++ build of every_name.c: the headers must be valid C++ and declare everything
 * inside extern "C" (the link fails on mangled names otherwise). */
#include "every_name.c"
