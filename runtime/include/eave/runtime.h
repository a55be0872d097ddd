/* eave runtime: load a compiled .eave model and run it. The one public header of the runtime.
 *
 * Errors: every call that can fail returns an eave_status. NULL means success; anything else
 * carries a code and a message, and the caller owns it and must eave_status_release() it.
 *
 * Objects:
 * - eave_model: a loaded artifact. Immutable after load; every eave_model_* function is
 *   thread-safe, and one model serves any number of sessions on any number of threads.
 *   Reference-counted: each session holds a reference.
 * - eave_session: the memory and threads for running a model. Thread-compatible: only one
 *   thread may use a session at a time; use one session per concurrent caller.
 *
 * Memory: weights are used where they lie (the mapped file or the caller's bytes), never
 * copied at load. Bound inputs and outputs are used zero-copy. A run with the same or smaller
 * shapes than an earlier run of the same session allocates nothing. */
#ifndef EAVE_RUNTIME_H_
#define EAVE_RUNTIME_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the public functions; the shared library exports nothing else. */
#if defined(__GNUC__)
#define EAVE_API __attribute__((visibility("default")))
#else
#define EAVE_API
#endif

/* ---- Status ----------------------------------------------------------------------------- */

typedef enum eave_status_code {
  EAVE_STATUS_OK = 0,
  EAVE_STATUS_INVALID_ARGUMENT = 1,    /* a wrong call: bad index, null pointer, bad shape */
  EAVE_STATUS_NOT_FOUND = 2,           /* a name or file that does not exist */
  EAVE_STATUS_INVALID_ARTIFACT = 3,    /* the artifact is truncated, corrupt or inconsistent */
  EAVE_STATUS_UNSUPPORTED = 4,         /* wrong architecture, missing CPU feature, newer format */
  EAVE_STATUS_OUT_OF_MEMORY = 5,       /* the allocator returned NULL */
  EAVE_STATUS_FAILED_PRECONDITION = 6, /* e.g. run with an input not bound */
  EAVE_STATUS_RUN_ERROR = 7,           /* a data-dependent error while running: a symbol out
                                          of its bounds, a division by zero in a shape */
  EAVE_STATUS_IO_ERROR = 8,            /* reading or mapping a file failed */
  EAVE_STATUS_INTERNAL = 9,            /* a bug in the runtime */
} eave_status_code;

typedef struct eave_status_object* eave_status; /* NULL = OK */

/* The code of `status` (EAVE_STATUS_OK for NULL). Thread-safe. */
EAVE_API eave_status_code eave_status_get_code(eave_status status);
/* The message of `status` ("" for NULL), owned by the status. Thread-safe. */
EAVE_API const char* eave_status_get_message(eave_status status);
/* A static name for a code: "INVALID_ARTIFACT". */
EAVE_API const char* eave_status_code_name(eave_status_code code);
/* Frees a status; NULL is allowed. */
EAVE_API void eave_status_release(eave_status status);

/* ---- Element types ------------------------------------------------------------------------- */

/* The numbering matches the compiler's DType and is part of the artifact format. */
typedef enum eave_dtype {
  EAVE_DTYPE_UNDEFINED = 0,
  EAVE_DTYPE_F32 = 1,
  EAVE_DTYPE_F16 = 2,
  EAVE_DTYPE_BF16 = 3,
  EAVE_DTYPE_F64 = 4,
  EAVE_DTYPE_I8 = 5,
  EAVE_DTYPE_U8 = 6,
  EAVE_DTYPE_I16 = 7,
  EAVE_DTYPE_U16 = 8,
  EAVE_DTYPE_I32 = 9,
  EAVE_DTYPE_U32 = 10,
  EAVE_DTYPE_I64 = 11,
  EAVE_DTYPE_U64 = 12,
  EAVE_DTYPE_BOOL = 13, /* one byte, 0 or 1 */
  /* One `const char*` per element: NUL-terminated UTF-8 text (NULL reads as ""). Input
   * strings are borrowed like any bound data; the strings of outputs and of every value a run
   * makes live in session memory and stay valid until the next run or release of the session.
   * Needs 64-bit pointers, like every target eave compiles for. */
  EAVE_DTYPE_STRING = 14,
} eave_dtype;

/* What a value holds. Inputs and outputs are usually tensors; a model may also take or give
 * a sequence (a list of tensors of one dtype whose shapes may differ) or an optional (a
 * tensor or a sequence, or nothing). The numbering is part of the artifact format. */
typedef enum eave_value_kind {
  EAVE_VALUE_TENSOR = 0,
  EAVE_VALUE_SEQUENCE = 1,
  EAVE_VALUE_OPTIONAL_TENSOR = 2,
  EAVE_VALUE_OPTIONAL_SEQUENCE = 3,
} eave_value_kind;

/* Bytes per element; 0 for an unknown dtype. */
EAVE_API size_t eave_dtype_size(eave_dtype dtype);
/* "f32", "i64", "bool", ...; "?" for an unknown dtype. */
EAVE_API const char* eave_dtype_name(eave_dtype dtype);

/* ---- Allocator ------------------------------------------------------------------------------ */

/* Where the runtime gets memory. All-zero (alloc == NULL) means the C library's. The runtime
 * calls it from the thread that calls into the runtime, never from its worker threads.
 * alloc returns NULL when out of memory (the runtime then returns EAVE_STATUS_OUT_OF_MEMORY);
 * alignment is a power of two, at most 4096. Neither function may throw (C++). */
typedef struct eave_allocator {
  void* self;
  void* (*alloc)(void* self, size_t size, size_t alignment);
  void (*free)(void* self, void* ptr); /* ptr may be NULL */
} eave_allocator;

/* ---- Models --------------------------------------------------------------------------------- */

typedef struct eave_model eave_model;

typedef struct eave_model_options {
  /* Memory for the model's own tables and copies. Must outlive the model. */
  eave_allocator allocator;
  /* 1 (default): verify the WEIGHTS checksum at load. 0 trades that safety for load time on
   * very large models: a corrupt weight then gives wrong results instead of an error. Every
   * other section is always verified. */
  int32_t verify_weights;
  /* For eave_model_load_memory: 0 (default) borrows the bytes, which must stay valid and
   * unchanged until the model is released and be 64-byte aligned; 1 copies them. */
  int32_t copy_memory;
} eave_model_options;

/* Sets the defaults above. */
EAVE_API void eave_model_options_initialize(eave_model_options* options);

/* Loads an artifact file, memory-mapped read-only (weights are not copied). `options` may be
 * NULL for the defaults. On success *out_model is a new model with one reference, owned by
 * the caller. Thread-safe. */
EAVE_API eave_status eave_model_load_file(const char* path, const eave_model_options* options,
                                          eave_model** out_model);

/* Loads an artifact from memory (see copy_memory for who owns the bytes). Thread-safe. */
EAVE_API eave_status eave_model_load_memory(const void* data, size_t size,
                                            const eave_model_options* options,
                                            eave_model** out_model);

/* A model linked into the program (`eave compile --emit static-lib`): the artifact bytes
 * (without CODE) and the kernel table the compiler generated, both in the caller's image. */
typedef struct eave_static_model {
  const void* artifact; /* 64-byte aligned; used in place */
  size_t artifact_size;
  const void* kernel_table; /* the model's `eave_kernel_table` */
} eave_static_model;

/* Loads a static-lib model: no file system and no ELF loader are involved. The structure and
 * everything it points to must outlive the model. Thread-safe. */
EAVE_API eave_status eave_model_load_static(const eave_static_model* model,
                                            const eave_model_options* options,
                                            eave_model** out_model);

/* Adds a reference. Thread-safe. */
EAVE_API void eave_model_retain(eave_model* model);
/* Drops a reference; the last one frees the model. NULL is allowed. Thread-safe. */
EAVE_API void eave_model_release(eave_model* model);

/* A model input or output. Every pointer is owned by the model and valid while it lives. */
typedef struct eave_tensor_info {
  const char* name;
  eave_dtype dtype;
  int32_t rank;
  const int64_t* dims;            /* rank entries; -1 where the size is dynamic */
  const char* const* dim_symbols; /* rank entries; the symbol name of a dynamic dim
                                     ("batch"), NULL for a static one */
  const int64_t* dim_min;         /* rank entries: the bounds a dynamic dim must respect */
  const int64_t* dim_max;         /* (-1: unbounded); equal to dims[i] for a static one */
  /* TENSOR for a tensor. For a sequence or an optional, dtype is its elements' and rank is 0:
   * bind it with eave_session_bind_input_list, read it with eave_session_get_output_list. */
  eave_value_kind kind;
} eave_tensor_info;

EAVE_API int32_t eave_model_input_count(const eave_model* model);
EAVE_API int32_t eave_model_output_count(const eave_model* model);
/* Fills *out_info for input `index`. Thread-safe. */
EAVE_API eave_status eave_model_get_input(const eave_model* model, int32_t index,
                                          eave_tensor_info* out_info);
EAVE_API eave_status eave_model_get_output(const eave_model* model, int32_t index,
                                           eave_tensor_info* out_info);
/* Finds an input or output by name: EAVE_STATUS_NOT_FOUND names the inputs there are. */
EAVE_API eave_status eave_model_find_input(const eave_model* model, const char* name,
                                           int32_t* out_index);
EAVE_API eave_status eave_model_find_output(const eave_model* model, const char* name,
                                            int32_t* out_index);

/* ---- Sessions ------------------------------------------------------------------------------- */

typedef struct eave_session eave_session;

/* Profiling: an optional callback around every step a run executes (`eave profile` uses it).
 * The runtime reads no clock itself; the callback timestamps BEGIN and END as it likes. With
 * no callback (the default) a run costs one pointer test per step. */
typedef enum eave_step_phase {
  EAVE_STEP_BEGIN = 0, /* the step is about to run */
  EAVE_STEP_END = 1,   /* the step finished and every worker thread is done with it */
} eave_step_phase;

typedef struct eave_step_event {
  eave_step_phase phase;
  int32_t program; /* 0: the model; IF/LOOP bodies are nested programs (higher indices) */
  int32_t step;    /* index of the step in its program, as `eave inspect` lists them */
  int32_t depth;   /* nesting: 0 for program 0's steps, 1 inside an IF/LOOP body, ... */
  const char* name;    /* the model node the step comes from; owned by the model */
  const char* kind;    /* "kernel", "builtin", "if" or "loop"; static */
  const char* builtin; /* the builtin's name ("COPY") for builtin steps, else NULL; static */
  uint64_t bytes;      /* END only: bytes of the step's operands (inputs and outputs) this run */
} eave_step_event;

/* Called on the thread that called eave_session_run, BEGIN and END for each step in order;
 * a step that runs a nested program brackets that program's steps. `event` is valid during the
 * call only. The callback must not call back into the session, nor throw (C++). */
typedef void (*eave_step_callback)(void* user_data, const eave_step_event* event);

typedef struct eave_session_options {
  /* Threads that run kernel tiles, the calling thread included. Default 1; 0 means one per
   * online CPU. */
  int32_t threads;
  /* Memory for the arena, heap values and unbound outputs. Must outlive the session. */
  eave_allocator allocator;
  /* Profiling hook (see eave_step_callback); NULL (default) for none. */
  eave_step_callback on_step;
  void* on_step_user_data;
} eave_session_options;

EAVE_API void eave_session_options_initialize(eave_session_options* options);

/* Creates a session for `model` (which it retains), starting its worker threads. `options`
 * may be NULL. The caller owns *out_session. Thread-safe with respect to the model. */
EAVE_API eave_status eave_session_create(eave_model* model, const eave_session_options* options,
                                         eave_session** out_session);
/* Stops the threads and frees the session's memory; NULL is allowed. */
EAVE_API void eave_session_release(eave_session* session);

/* A tensor the caller passes in or reads out. Dense, row-major. */
typedef struct eave_tensor {
  eave_dtype dtype;
  int32_t rank;
  const int64_t* dims; /* rank entries */
  void* data;
  size_t byte_size; /* bytes at data: at least the product of dims times the dtype size */
} eave_tensor;

/* Binds input `index` to the caller's tensor, checking dtype, rank, static dims and the
 * bounds of dynamic ones (the message names the input, the axis and the bound). The data is
 * not copied: it must stay valid and unchanged during every run until it is bound again; the
 * dims array is copied. Bindings persist across runs. Thread-compatible. */
EAVE_API eave_status eave_session_bind_input(eave_session* session, int32_t index,
                                             const eave_tensor* tensor);

/* Has output `index` written straight into the caller's buffer of `capacity` bytes (checked
 * at run time against the output's shape). data NULL unbinds it: the session then owns the
 * output memory. The buffer must stay valid during runs until bound again. */
EAVE_API eave_status eave_session_bind_output(eave_session* session, int32_t index, void* data,
                                              size_t capacity);

/* Runs the model on the bound inputs. Every input must be bound. On error the outputs are
 * unspecified, but the session stays usable. Thread-compatible. */
EAVE_API eave_status eave_session_run(eave_session* session);

/* The result of the last successful run for output `index`: its dtype, shape and data (the
 * bound buffer, or session memory). The dims and session-owned data stay valid until the next
 * run, bind or release of the session. */
EAVE_API eave_status eave_session_get_output(eave_session* session, int32_t index,
                                             eave_tensor* out_tensor);

/* ---- Sequence and optional inputs and outputs ----------------------------------------------- */

/* Binds a SEQUENCE or OPTIONAL_* input to `count` tensors, each checked against the input's
 * dtype. present 0 is an empty optional (count 0). A SEQUENCE takes present 1 and any count;
 * an OPTIONAL_TENSOR with present 1 takes exactly one tensor; an OPTIONAL_SEQUENCE with
 * present 1 any count. Zero-copy like eave_session_bind_input: each tensor's data must stay
 * valid and unchanged until bound again; the array and the dims are copied (into session
 * memory kept for later binds). Thread-compatible. */
EAVE_API eave_status eave_session_bind_input_list(eave_session* session, int32_t index,
                                                  int32_t present, const eave_tensor* tensors,
                                                  int32_t count);

/* The result of the last successful run for a SEQUENCE or OPTIONAL_* output: whether it holds
 * a value (1 for a sequence) and how many tensors (0 or 1 for an optional tensor). */
EAVE_API eave_status eave_session_get_output_list(eave_session* session, int32_t index,
                                                  int32_t* out_present, int32_t* out_count);
/* Tensor `item` of that output, in session memory valid until the next run, bind or release. */
EAVE_API eave_status eave_session_get_output_item(eave_session* session, int32_t index,
                                                  int32_t item, eave_tensor* out_tensor);

#ifdef __cplusplus
}
#endif

#endif /* EAVE_RUNTIME_H_ */
