/* C++ build of client_macros.c. */
#include "client_macros.c"
