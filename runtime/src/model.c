/* Loading models (file, memory, static), reference counting and the query functions. */
#define _GNU_SOURCE /* MAP_ANONYMOUS, posix_memalign under -std=c11 */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define EAVE_HAVE_FILES 1
#endif

/* ---- Default allocator ------------------------------------------------------------------- */

static void* default_alloc(void* self, size_t size, size_t alignment) {
  (void)self;
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
#if defined(__unix__)
  void* p = NULL;
  return posix_memalign(&p, alignment, size ? size : 1) == 0 ? p : NULL;
#else
  return aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
#endif
}

static void default_free(void* self, void* ptr) {
  (void)self;
  free(ptr);
}

void eave_allocator_or_default(const eave_allocator* in, eave_allocator* out) {
  if (in && in->alloc && in->free) {
    *out = *in;
  } else {
    out->self = NULL;
    out->alloc = default_alloc;
    out->free = default_free;
  }
}

/* ---- Loading ------------------------------------------------------------------------------- */

void eave_model_options_initialize(eave_model_options* options) {
  memset(options, 0, sizeof *options);
  options->verify_weights = 1;
}

static void model_free(eave_model* m) {
  eave_elf_unload(&m->code_image);
#if EAVE_HAVE_FILES
  if (m->file_mapping) munmap(m->file_mapping, m->file_mapping_size);
#endif
  eave_allocator a = m->allocator;
  a.free(a.self, m->owned_copy);
  a.free(a.self, m->derived);
  a.free(a.self, m);
}

/* Creates the model object around bytes that the caller arranged to outlive it. */
static eave_status model_new(const eave_model_options* options, eave_model** out) {
  eave_model_options defaults;
  if (!options) {
    eave_model_options_initialize(&defaults);
    options = &defaults;
  }
  eave_allocator a;
  eave_allocator_or_default(&options->allocator, &a);
  eave_model* m = a.alloc(a.self, sizeof *m, 64);
  if (!m) return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "out of memory loading the model");
  memset(m, 0, sizeof *m);
  atomic_init(&m->refs, 1);
  m->allocator = a;
  *out = m;
  return NULL;
}

/* Validates everything, then loads the code (or takes the static kernel table). */
static eave_status model_finish(eave_model* m, const eave_model_options* options,
                                const void* static_kernels) {
  int verify_weights = options ? options->verify_weights : 1;
  const uint8_t* code;
  size_t code_size;
  EAVE_RETURN_IF_ERROR(
      eave_artifact_read(m, verify_weights, static_kernels == NULL, &code, &code_size));
  if (static_kernels) {
    const eave_kernel_table* t = static_kernels;
    if (t->magic != EAVE_KERNEL_TABLE_MAGIC || t->abi_version != EAVE_KERNEL_ABI_VERSION)
      return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                              "static model: kernel table has magic 0x%08x ABI %u; expected "
                              "0x%08x ABI %u",
                              t->magic, t->abi_version, EAVE_KERNEL_TABLE_MAGIC,
                              EAVE_KERNEL_ABI_VERSION);
    for (uint32_t k = 0; k < t->count; ++k)
      if (!t->fns[k])
        return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "static model: kernel %u is NULL", k);
    m->kernels = t;
  } else if (code) {
    EAVE_RETURN_IF_ERROR(eave_elf_load(code, code_size, m->arch, &m->code_image));
    m->kernels = m->code_image.kernels;
  }
  return eave_program_check_kernels(m);
}

static eave_status load_common(eave_model* m, const eave_model_options* options,
                               const void* static_kernels, eave_model** out_model) {
  eave_status st = model_finish(m, options, static_kernels);
  if (st) {
    model_free(m);
    return st;
  }
  *out_model = m;
  return NULL;
}

eave_status eave_model_load_memory(const void* data, size_t size, const eave_model_options* options,
                                   eave_model** out_model) {
  if (!out_model || (!data && size))
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "eave_model_load_memory: null argument");
  *out_model = NULL;
  eave_model* m;
  EAVE_RETURN_IF_ERROR(model_new(options, &m));
  if (options && options->copy_memory) {
    m->owned_copy = m->allocator.alloc(m->allocator.self, size ? size : 1, 4096);
    if (!m->owned_copy) {
      model_free(m);
      return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY,
                              "out of memory copying a %zu-byte artifact", size);
    }
    if (size) memcpy(m->owned_copy, data, size);
    data = m->owned_copy;
  } else if ((uintptr_t)data % 64) {
    model_free(m);
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "eave_model_load_memory: borrowed memory must be 64-byte aligned "
                            "(or set copy_memory)");
  }
  m->bytes = data;
  m->size = size;
  return load_common(m, options, NULL, out_model);
}

eave_status eave_model_inspect(const void* data, size_t size, eave_model** out_model) {
  if (!out_model || (!data && size))
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "eave_model_inspect: null argument");
  *out_model = NULL;
  eave_model* m;
  EAVE_RETURN_IF_ERROR(model_new(NULL, &m));
  m->owned_copy = m->allocator.alloc(m->allocator.self, size ? size : 1, 4096);
  if (!m->owned_copy) {
    model_free(m);
    return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "out of memory copying the artifact");
  }
  if (size) memcpy(m->owned_copy, data, size);
  m->bytes = m->owned_copy;
  m->size = size;
  m->inspect_only = 1;
  const uint8_t* code;
  size_t code_size;
  eave_status st = eave_artifact_read(m, 1, 0, &code, &code_size);
  if (st) {
    model_free(m);
    return st;
  }
  *out_model = m;
  return NULL;
}

eave_status eave_model_load_static(const eave_static_model* model,
                                   const eave_model_options* options, eave_model** out_model) {
  if (!out_model || !model || !model->artifact || !model->kernel_table)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "eave_model_load_static: null argument");
  *out_model = NULL;
  if ((uintptr_t)model->artifact % 64)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "eave_model_load_static: artifact must be 64-byte aligned");
  eave_model* m;
  EAVE_RETURN_IF_ERROR(model_new(options, &m));
  m->bytes = model->artifact;
  m->size = model->artifact_size;
  return load_common(m, options, model->kernel_table, out_model);
}

eave_status eave_model_load_file(const char* path, const eave_model_options* options,
                                 eave_model** out_model) {
  if (!out_model || !path)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "eave_model_load_file: null argument");
  *out_model = NULL;
#if EAVE_HAVE_FILES
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return eave_make_status(errno == ENOENT ? EAVE_STATUS_NOT_FOUND : EAVE_STATUS_IO_ERROR,
                            "cannot open '%s': %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return eave_make_status(EAVE_STATUS_IO_ERROR, "'%s' is not a regular file", path);
  }
  size_t size = (size_t)sb.st_size;
  void* map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
  int map_errno = errno;
  close(fd);
  if (map == MAP_FAILED)
    return eave_make_status(EAVE_STATUS_IO_ERROR, "cannot map '%s': %s", path, strerror(map_errno));
  eave_model* m;
  eave_status st = model_new(options, &m);
  if (st) {
    if (map) munmap(map, size);
    return st;
  }
  m->file_mapping = map;
  m->file_mapping_size = size;
  m->bytes = map ? map : (const uint8_t*)"";
  m->size = size;
  return eave_status_annotate(load_common(m, options, NULL, out_model), "%s: ", path);
#else
  return eave_make_status(EAVE_STATUS_UNSUPPORTED, "this runtime has no file system support");
#endif
}

void eave_model_retain(eave_model* model) {
  if (model) atomic_fetch_add_explicit(&model->refs, 1, memory_order_relaxed);
}

void eave_model_release(eave_model* model) {
  if (model && atomic_fetch_sub_explicit(&model->refs, 1, memory_order_acq_rel) == 1)
    model_free(model);
}

/* ---- Queries -------------------------------------------------------------------------------- */

int32_t eave_model_input_count(const eave_model* m) {
  return m ? (int32_t)m->programs[0].input_count : 0;
}

int32_t eave_model_output_count(const eave_model* m) {
  return m ? (int32_t)m->programs[0].output_count : 0;
}

static eave_status get_io(const eave_model* m, int32_t index, const eave_io_info* table,
                          int32_t count, const char* what, eave_tensor_info* out) {
  if (!m || !out) return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "null argument");
  if (index < 0 || index >= count)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "%s index %d out of range (the model "
                            "has %d)",
                            what, index, count);
  *out = table[index].info;
  return NULL;
}

eave_status eave_model_get_input(const eave_model* m, int32_t index, eave_tensor_info* out) {
  return get_io(m, index, m ? m->inputs : NULL, eave_model_input_count(m), "input", out);
}

eave_status eave_model_get_output(const eave_model* m, int32_t index, eave_tensor_info* out) {
  return get_io(m, index, m ? m->outputs : NULL, eave_model_output_count(m), "output", out);
}

static eave_status find_io(const eave_io_info* table, int32_t count, const char* what,
                           const char* name, int32_t* out_index) {
  if (!name || !out_index) return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "null argument");
  char names[256] = "";
  size_t used = 0;
  for (int32_t i = 0; i < count; ++i) {
    if (strcmp(table[i].info.name, name) == 0) return *out_index = i, NULL;
    if (used < sizeof names - 1) {
      int n =
          snprintf(names + used, sizeof names - used, "%s'%s'", i ? ", " : "", table[i].info.name);
      used += n > 0 ? (size_t)n : 0;
    }
  }
  return eave_make_status(EAVE_STATUS_NOT_FOUND, "the model has no %s '%s' (its %ss: %s)", what,
                          name, what, names);
}

eave_status eave_model_find_input(const eave_model* m, const char* name, int32_t* out_index) {
  if (!m) return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "null model");
  return find_io(m->inputs, eave_model_input_count(m), "input", name, out_index);
}

eave_status eave_model_find_output(const eave_model* m, const char* name, int32_t* out_index) {
  if (!m) return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "null model");
  return find_io(m->outputs, eave_model_output_count(m), "output", name, out_index);
}
