/* anyhv record and replay at the library level: everything a client feeds a
 * deterministic VM between runs - register and system-register writes, event injection
 * (VMCS entry fields, pending IRQ/FIQ), writes into guest memory, and changes to the
 * in-framework interrupt controllers (hv_gic_set_spi, hv_vm_ioapic_*, hv_vm_lapic_*,
 * ...) - is logged with the vCPU and the instruction count at which the guest first
 * sees it; a replay applies the logged inputs at the same points and discards the
 * client's own, so a client whose answers depend on the outside world (a device read
 * from the host, an interrupt at a host-timed moment) repeats the recorded run bit for
 * bit. Included by <anyhv/anyhv.h>. Deterministic mode (software route) only; see
 * docs/determinism.md for the rules and limits. */
#ifndef ANYHV_RECORD_H
#define ANYHV_RECORD_H

#include <Hypervisor/hv_error.h>
#include <anyhv/export.h>
#include <stdint.h>

ANYHV_BEGIN_DECLS

/* Also log the client's writes into guest memory (DMA): every region mapped when the
 * log starts is compared at each run entry, a pass over guest memory per run. Without
 * it only registers, event injection and the in-framework devices are logged. */
#define ANYHV_RECORD_GUEST_MEMORY 1u

/*!
 * @function anyhv_record_start
 * @abstract Log the client's inputs to the current VM to `path` from now on.
 * @discussion Call after the VM, its memory maps and its in-framework interrupt
 *           controller exist and before any vCPU runs; the VM must be deterministic
 *           (anyhv_set_deterministic). Inputs are found by comparing the VM's state at
 *           each run entry with its state at the previous exit, so they are logged
 *           whatever call made them. A vCPU created later starts from its state at its
 *           first entry, but on the Intel flavour with the in-framework APIC every
 *           vCPU (each has a local APIC in the logged device state) must exist before
 *           the log starts: one created later makes anyhv_record_finish fail (once one
 *           is destroyed the controllers are no longer logged).
 *           flags: ANYHV_RECORD_GUEST_MEMORY or 0.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT without a path or VM, or for unknown flags; HV_UNSUPPORTED when the VM
 *         is not deterministic; HV_BUSY once a vCPU ran or while a log is open;
 *         HV_ERROR when the file cannot be created.
 */
ANYHV_API hv_return_t anyhv_record_start(const char *path, uint32_t flags);

/*!
 * @function anyhv_replay_start
 * @abstract Replay a log written by anyhv_record_start into the current VM, which must
 *           be built as the recorded one was: at each run entry the logged inputs are
 *           applied and the client's own changes since the last exit are undone.
 *           flags must be those the log was recorded with.
 * @result As anyhv_record_start; HV_BAD_ARGUMENT also for a file that is not a log of
 *         this flavour and VM shape.
 */
ANYHV_API hv_return_t anyhv_replay_start(const char *path, uint32_t flags);

/*!
 * @function anyhv_record_finish
 * @abstract Close the log. Recording: flushes it. Replay: HV_ERROR if the run left the
 *           recorded path (an entry at another instruction count than the log's, or
 *           inputs the log does not have), HV_SUCCESS if it followed it. HV_BUSY (the
 *           log stays open) while a vCPU runs.
 */
ANYHV_API hv_return_t anyhv_record_finish(void);

ANYHV_END_DECLS

#endif /* ANYHV_RECORD_H */
