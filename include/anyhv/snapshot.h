/* anyhv snapshots: save a whole VM (every vCPU's architectural state and the contents
 * of guest memory) to a file and restore it into a VM built the same way, so a guest
 * continues exactly where it was. Included by <anyhv/anyhv.h>.
 *
 * The file (docs/snapshots.md) has a magic, a format version, the flavour and the
 * sizes of the state layouts it was written with, and a 64-bit FNV-1a checksum over
 * everything; a file of another flavour, format or layout, or one that is truncated or
 * corrupted, is refused with a clear message (anyhv_snapshot_error) before anything in
 * the VM changes. */
#ifndef ANYHV_SNAPSHOT_H
#define ANYHV_SNAPSHOT_H

#include <Hypervisor/hv_error.h>
#include <anyhv/export.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

ANYHV_BEGIN_DECLS

/* Version of the file format this library writes and reads. */
#define ANYHV_SNAPSHOT_FORMAT 2u
/* Most bytes of client data a snapshot carries (a VMM's device state). */
#define ANYHV_SNAPSHOT_CLIENT_MAX (1u << 20)

/*!
 * @function anyhv_vm_snapshot_save
 * @abstract Write the current VM to `path`: every vCPU's registers and system state
 *           (including the soft route's retired-instruction count), every mapped region
 *           of every address space with its contents, and `client_len` bytes of the
 *           client's own data (its devices), which anyhv_vm_snapshot_restore hands back.
 * @discussion No vCPU may be inside hv_vcpu_run when the call starts (HV_BUSY, and a file
 *           already at `path` is left as it was); a vCPU that enters hv_vcpu_run meanwhile
 *           waits until the call is done. Call from the thread owning the vCPUs, or from
 *           any thread while their owners make no other call on them (hv_vcpu_run
 *           excepted: it waits).
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for NULL path, client data over
 *         ANYHV_SNAPSHOT_CLIENT_MAX, or no VM; HV_BUSY while a vCPU runs; HV_ERROR when
 *         the file cannot be written (anyhv_snapshot_error says why).
 */
ANYHV_API hv_return_t anyhv_vm_snapshot_save(const char *path, const void *client, size_t client_len);

/*!
 * @function anyhv_vm_snapshot_restore
 * @abstract Load `path` into the current VM, which must have been built like the saved
 *           one: the same flavour, the same vCPU ids, and the same guest-physical regions
 *           (address and size) mapped in each address space. Memory contents, vCPU state
 *           and instruction counts are replaced; translations and TLBs are dropped.
 * @param client     Receives the client data saved with the snapshot (may be NULL when
 *                   client_max is 0).
 * @param client_len Receives its length (may be NULL).
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a file that is not a valid snapshot for this
 *         VM (wrong magic, flavour, format version or state layout; bad checksum;
 *         truncated; vCPUs or regions that do not match; client data larger than
 *         client_max) - nothing in the VM has changed then; HV_BUSY while a vCPU is inside
 *         hv_vcpu_run (one that enters during the restore waits for its end);
 *         HV_ERROR when the file cannot be read. anyhv_snapshot_error says why.
 */
ANYHV_API hv_return_t anyhv_vm_snapshot_restore(const char *path, void *client, size_t client_max,
                                               size_t *client_len);

/*!
 * @function anyhv_vm_fork
 * @abstract Copy the current VM into a child process, like fork(2): guest memory is
 *           copy-on-write, so the call costs page tables, not guest RAM. Both VMs then
 *           run on independently; in deterministic mode both continue exactly as the
 *           VM would have.
 * @param pid Receives the child's pid in the parent and 0 in the child.
 * @discussion Software route only. No vCPU may be running (HV_BUSY; one that enters
 *           hv_vcpu_run meanwhile waits until the parent returns) and no other thread may
 *           be inside another anyhv call. In the child the calling thread is the only thread:
 *           it owns every vCPU, and the compiled tier is off (its thread stayed in the
 *           parent, paused between batches across the fork so that it held no lock;
 *           the child interprets). Guest memory in private mappings
 *           (hv_vm_allocate, malloc, anonymous mmap) is copied on write by the kernel;
 *           a guest region inside a shared mapping (MAP_SHARED, a memfd or a file) is
 *           copied into private memory in the child before the parent returns. Memory
 *           the client marked MADV_DONTFORK or MADV_WIPEONFORK is not copied. The
 *           child ends with _exit() when done; the parent reaps it (waitpid).
 * @result HV_SUCCESS in both processes; HV_BAD_ARGUMENT without a VM or pid;
 *         HV_UNSUPPORTED on KVM and for a deterministic VM with more than one vCPU (one
 *         thread cannot drive the rotation); HV_BUSY while a vCPU runs; HV_NO_RESOURCES
 *         when fork(2) fails. HV_ERROR when the child could not make its memory
 *         private: the parent gets the child's pid, and the child (pid 0) must not run
 *         the VM and should _exit().
 */
ANYHV_API hv_return_t anyhv_vm_fork(pid_t *pid);

/*! Why the calling thread's last snapshot call failed ("" after a success). */
ANYHV_API const char *anyhv_snapshot_error(void);

ANYHV_END_DECLS

#endif /* ANYHV_SNAPSHOT_H */
