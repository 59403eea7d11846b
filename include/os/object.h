/* os/object.h - the part of Apple's os_object API that Hypervisor clients use: the
 * configuration and state objects of the Apple-silicon flavour (hv_vm_config_t,
 * hv_vcpu_config_t, hv_gic_config_t, hv_gic_state_t) are reference-counted os_objects. */
#ifndef ANYHV_OS_OBJECT_H
#define ANYHV_OS_OBJECT_H

#include <anyhv/export.h>

ANYHV_BEGIN_DECLS

/*!
 * @function os_retain
 * @abstract Adds a reference to an os_object.
 * @param object The object (may be NULL, which is ignored).
 * @result The same object, so the call can be used in an expression.
 * @discussion Thread-safe: any thread may retain or release an object.
 */
ANYHV_API void *os_retain(void *object);

/*!
 * @function os_release
 * @abstract Drops a reference to an os_object; the last release frees it.
 * @param object The object (may be NULL, which is ignored). Using it after its last
 *        reference is gone is undefined, as on macOS.
 * @discussion Thread-safe. Objects returned by the hv_*_create() calls start with one
 *        reference owned by the caller.
 */
ANYHV_API void os_release(void *object);

ANYHV_END_DECLS

#endif /* ANYHV_OS_OBJECT_H */
