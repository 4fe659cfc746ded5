/* The fuzzer's reference executor: runs the ioctl sequences `uapi-conform
 * fuzz` generated on a real (or preloaded) /dev/iommu and reports what each
 * call did. The generator and the simulator stay on the host; only this small
 * C program runs in the guest, where TCG makes Swift code slow.
 *
 * Wire format (little-endian, written by Sources/Fuzz/Wire.swift):
 *   request  = "UCFQ" u32 version u32 nseq, op table, probe, nseq sequences
 *   op table = u32 nops, per op: u64 request, u8 target, u8 nout, u8 nunion, u8 0,
 *              u32 out_fd_offset[nout], (u32 op, u32 offset)[nunion]
 *   probe    = u32 op index (~0: none), u32 size, u32 id offset, u32 id width
 *   sequence = u32 flags (1: open vfio0), u32 nactions, actions
 *   action   = u8 1 (call): u8 null, u16 npatch, u32 op, u32 serial, u32 len, bytes[len], patches
 *            | u8 2 (probe): u32 up_to
 *   patch    = u32 offset, u8 width, u8 kind, u16 0, then by kind:
 *              1 iommufd; 2 output / 3 fd: u32 serial, u32 offset, u32 width, u64 otherwise;
 *              4 buffer: u32 size, u32 offset, u32 n, bytes[n] (zero-filled to size)
 *   response = "UCFR" u32 nseq, per sequence: i32 iommufd open errno, i32 vfio open errno,
 *              u32 nactions, per call: i64 ret (-errno), u64 value[npatch], u8 back (0 none,
 *              1 as sent, 2 bytes[len] follow), per buffer u8 changed (+ bytes[size]);
 *              per probe: u32 n, i32[n]; then u32 nclose, (u32 what, i32 fd, i32 errno)[nclose]
 */
#ifndef UC_FUZZ_EXEC_H
#define UC_FUZZ_EXEC_H

#include <stddef.h>
#include <stdint.h>

#define UCFX_VERSION 1
#define UCFX_MAX_OPS 256
#define UCFX_MAX_LEN 65536
#define UCFX_MAX_SERIAL 4096
#define UCFX_MAX_PROBE 65536
#define UCFX_MAX_BUFFER (64u << 20)

enum { UCFX_CALL = 1, UCFX_PROBE = 2 };
enum { UCFX_IOMMUFD = 1, UCFX_OUTPUT = 2, UCFX_FD = 3, UCFX_BUFFER = 4 };
enum { UCFX_CLOSE_FD = 0, UCFX_CLOSE_VFIO = 1, UCFX_CLOSE_IOMMUFD = 2 };

/* A growable byte string and a bounded reader over one. */
struct ucfx_out { uint8_t *p; size_t n, cap; int oom; };
struct ucfx_in { const uint8_t *p; size_t n, at; int bad; };

void ucfx_put(struct ucfx_out *o, const void *p, size_t n);
void ucfx_u8(struct ucfx_out *o, uint8_t v);
void ucfx_u32(struct ucfx_out *o, uint32_t v);
void ucfx_u64(struct ucfx_out *o, uint64_t v);
const uint8_t *ucfx_take(struct ucfx_in *in, size_t n);
uint8_t ucfx_get8(struct ucfx_in *in);
uint16_t ucfx_get16(struct ucfx_in *in);
uint32_t ucfx_get32(struct ucfx_in *in);
uint64_t ucfx_get64(struct ucfx_in *in);

/* Runs one request's sequences; 0, or -1 with a reason for a malformed request. */
int ucfx_serve(struct ucfx_in *in, struct ucfx_out *out, const char **why);

#endif
