/* The mini ELF loader for an artifact's CODE section: an ELF64 shared object linked with
 * `ld.lld -shared -Bsymbolic --hash-style=sysv`. It maps the PT_LOAD segments into one
 * anonymous region, applies the dynamic relocations of docs/design/runtime-artifact.md,
 * resolves imports against imports.c only, sets W^X protections (and RELRO), flushes the
 * instruction cache and finds `eave_kernels`. Every offset, size and index in the file is
 * checked before use. */
#ifndef EAVE_ELF_LOADER_H_
#define EAVE_ELF_LOADER_H_

#include <stddef.h>
#include <stdint.h>

#include "artifact_format.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EAVE_ELF_MAX_EXEC_RANGES 4

typedef struct eave_code_image {
  void* mapping; /* NULL when nothing is mapped */
  size_t mapping_size;
  const eave_kernel_table* kernels;
} eave_code_image;

/* Loads `elf` (size bytes, any alignment) for `arch`, which must be the running one.
 * On error nothing stays mapped and the status names the field, relocation or symbol. */
eave_status eave_elf_load(const uint8_t* elf, size_t size, eave_arch arch, eave_code_image* out);

/* Unmaps the image; a zeroed image is fine. */
void eave_elf_unload(eave_code_image* image);

#ifdef __cplusplus
}
#endif

#endif /* EAVE_ELF_LOADER_H_ */
