/* hv_base.h - base of every Hypervisor header: chooses which flavour of Apple's
 * Hypervisor API this translation unit sees (Intel or Apple silicon) and pulls in the
 * standard types the declarations use. Every other Hypervisor header includes it first. */
#ifndef ANYHV_HYPERVISOR_HV_BASE_H
#define ANYHV_HYPERVISOR_HV_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <anyhv/export.h>

/*
 * Flavour selection. A translation unit sees exactly one flavour of the API:
 *
 *   ANYHV_GUEST_ARM64 defined   -> Apple-silicon API (hv_vm_*.h, hv_vcpu*.h, hv_gic*.h)
 *   ANYHV_GUEST_X86_64 defined  -> Intel API (hv.h, hv_vmx.h, hv_arch_*.h)
 *   neither                     -> the host architecture's flavour, as on macOS
 *
 * Define the macro before the first Hypervisor include (or with -D). The result is
 * ANYHV_HV_ARM64 / ANYHV_HV_X86, each 1 or 0, which the other headers test: a
 * flavour-specific header included in the other flavour declares nothing.
 */
#if defined(ANYHV_GUEST_ARM64) && defined(ANYHV_GUEST_X86_64)
#error "anyhv: define ANYHV_GUEST_ARM64 or ANYHV_GUEST_X86_64, not both"
#elif defined(ANYHV_GUEST_ARM64)
#define ANYHV_HV_ARM64 1
#define ANYHV_HV_X86 0
#elif defined(ANYHV_GUEST_X86_64)
#define ANYHV_HV_ARM64 0
#define ANYHV_HV_X86 1
#elif defined(__aarch64__) || defined(__arm64__)
#define ANYHV_HV_ARM64 1
#define ANYHV_HV_X86 0
#elif defined(__x86_64__)
#define ANYHV_HV_ARM64 0
#define ANYHV_HV_X86 1
#else
#error "anyhv: unknown host architecture; define ANYHV_GUEST_ARM64 or ANYHV_GUEST_X86_64"
#endif

/* Lets an enumeration hold bit 31 (an unsigned value) under -pedantic in C17, as the
 * Apple headers' constants do; the enumerators keep their unsigned value. */
#if defined(__GNUC__) || defined(__clang__)
#define ANYHV_EXTENSION __extension__
#else
#define ANYHV_EXTENSION
#endif

#if ANYHV_HV_ARM64
/* Configuration objects of the Apple-silicon API are os_objects (os_retain/os_release). */
#include <os/object.h>
#endif

#endif /* ANYHV_HYPERVISOR_HV_BASE_H */

/* Checked on every inclusion: the flavour cannot change within a translation unit. */
#if (defined(ANYHV_GUEST_ARM64) && !ANYHV_HV_ARM64) || (defined(ANYHV_GUEST_X86_64) && !ANYHV_HV_X86)
#error "anyhv: ANYHV_GUEST_* was defined after a Hypervisor header was included; define it first"
#endif
