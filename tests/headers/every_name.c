/* Every constant and function of one flavour, checked against the fact sheet's lists
 * (names_*.inc, funcs_*.inc): values by static assertion, signatures by assigning each
 * function to a pointer of the documented type, exports by linking. Built once per
 * flavour, in C and in C++ (every_name.cpp includes this file). */
#include <Hypervisor/Hypervisor.h>

#ifdef __cplusplus
#define STATIC_CHECK(cond, msg) static_assert(cond, msg)
#else
#define STATIC_CHECK(cond, msg) _Static_assert(cond, msg)
#endif

#define NAME(name, value) STATIC_CHECK((long long)(name) == (long long)(value), #name);
#if ANYHV_HV_X86
#include "names_x86.inc"
#else
#include "names_arm64.inc"
#endif
#undef NAME

/* hv_return_t values are negative 32-bit numbers on both flavours. */
STATIC_CHECK(sizeof(hv_return_t) == 4 && HV_ERROR < 0, "hv_return_t is int32_t");

#define FUNC(ret, name, params) ret(*volatile check_##name) params = name;
#if ANYHV_HV_X86
#include "funcs_x86.inc"
#else
#include "funcs_arm64.inc"
#endif
#undef FUNC

int main(void)
{
    /* The pointers are volatile: the linker must resolve every symbol. */
#define FUNC(ret, name, params) if (!check_##name) return 1;
#if ANYHV_HV_X86
#include "funcs_x86.inc"
#else
#include "funcs_arm64.inc"
#endif
    return 0;
}
