/* The `eave_kernels` table the compiler emits into the artifact's CODE shared object and the
 * runtime looks up (docs/design/runtime-artifact.md). C, so the runtime can include it.
 * TODO: move into runtime/src/artifact_format.h once that header exists; both sides must agree.
 *
 *   typedef void (*eave_kernel_fn)(void* const* buffers, const int64_t* syms,
 *                                  int64_t tile_begin, int64_t tile_end);
 *   struct eave_kernel_table { uint32_t magic, abi_version, count, reserved;
 *                              eave_kernel_fn fns[]; };
 */
#ifndef EAVE_CODEGEN_KERNEL_TABLE_H_
#define EAVE_CODEGEN_KERNEL_TABLE_H_

#define EAVE_KERNEL_TABLE_SYMBOL "eave_kernels"
#define EAVE_KERNEL_TABLE_MAGIC 0x4C4E524Bu /* "KRNL" as little-endian bytes */
#define EAVE_KERNEL_ABI_VERSION 1u

#endif
