/* Every constant and function of one flavour, checked against the fact sheet's lists
 * (names_*.inc, funcs_*.inc): values by static assertion, signatures by assigning each
 * function to a pointer of the documented type, exports by linking. Built once per
 * flavour, in C and in C++ (every_name.cpp includes this file). */
#include <Hypervisor/Hypervisor.h>
#include <stddef.h>

#ifdef __cplusplus
#define STATIC_CHECK(cond, msg) static_assert(cond, msg)
#else
#define STATIC_CHECK(cond, msg) _Static_assert(cond, msg)
#endif

#define NAME(name, value) STATIC_CHECK((long long)(name) == (long long)(value), #name);
#if ANYHV_HV_X86
#include "names_x86.inc"
#include "names_x86_sdk.inc"
#else
#include "names_arm64.inc"
#endif
#undef NAME

#if ANYHV_HV_X86
/* The interrupt-controller state structs have Apple's layout (sizes and a few offsets,
 * computed from the SDK's field lists with LP64 alignment). */
STATIC_CHECK(sizeof(struct hv_apic_state) == 240, "hv_apic_state size");
STATIC_CHECK(offsetof(struct hv_apic_state, isr) == 52, "hv_apic_state.isr");
STATIC_CHECK(offsetof(struct hv_apic_state, boot_state) == 204, "hv_apic_state.boot_state");
STATIC_CHECK(sizeof(hv_apic_state_ext_t) == 248, "hv_apic_state_ext_t size");
STATIC_CHECK(sizeof(struct hv_atpic_state) == 16 && sizeof(hv_atpic_state_ext_t) == 20, "hv_atpic_state");
STATIC_CHECK(offsetof(struct hv_atpic_state, elc) == 15, "hv_atpic_state.elc");
STATIC_CHECK(sizeof(struct hv_ioapic_state) == 272 && sizeof(hv_ioapic_state_ext_t) == 280, "hv_ioapic_state");
STATIC_CHECK(sizeof(hv_ion_message_t) == 56, "hv_ion_message_t: 24-byte header, 3 words, 8-byte trailer");
STATIC_CHECK(sizeof(hv_vm_exitinfo_t) == 4 && sizeof(hv_apic_ctrl_t) == 8, "exit info and APIC control types");
#endif

/* hv_return_t values are negative 32-bit numbers on both flavours. */
STATIC_CHECK(sizeof(hv_return_t) == 4 && HV_ERROR < 0, "hv_return_t is int32_t");

#define FUNC(ret, name, params) ret(*volatile check_##name) params = name;
#if ANYHV_HV_X86
#include "funcs_x86.inc"
#include "funcs_x86_sdk.inc"
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
#include "funcs_x86_sdk.inc"
#else
#include "funcs_arm64.inc"
#endif
    return 0;
}
