/* The binary layout of a .eave artifact: the contract between the compiler's writer
 * (codegen/artifact_writer.cc) and the C runtime's loader. docs/design/runtime-artifact.md says
 * what each part means; this header says where every byte is.
 *
 * Rules that hold everywhere:
 * - All integers are little-endian; every struct here has fixed-width fields and explicit
 *   padding, so its size and field offsets are the same on every target (checked below).
 * - Offsets in the file header and section table are from the start of the file; offsets inside
 *   a section are from the start of that section.
 * - A "string" is a uint32 offset into the STRINGS section, which starts with a NUL byte so
 *   that offset 0 is the empty string. Every string ends with a NUL inside the section.
 * - Reserved fields are written as zero and must be zero on load (room for later versions).
 * - Any change to the layout bumps EAVE_FORMAT_VERSION; the loader accepts only its own. */
#ifndef EAVE_ARTIFACT_FORMAT_H_
#define EAVE_ARTIFACT_FORMAT_H_

#include <stddef.h>
#include <stdint.h>

#include "eave/runtime.h" /* eave_dtype: value dtypes use the public codes */

#ifdef __cplusplus
extern "C" {
#endif

#define EAVE_FORMAT_MAGIC "EAVEMODL" /* 8 bytes, no NUL in the file */
#define EAVE_FORMAT_VERSION 2u

#define EAVE_WEIGHTS_ALIGNMENT 4096u /* file offset of the WEIGHTS section */
#define EAVE_WEIGHT_ALIGNMENT 64u    /* each weight inside WEIGHTS */
#define EAVE_ARENA_ALIGNMENT 64u     /* every arena offset and the arena base */
#define EAVE_MAX_SECTIONS 64u
#define EAVE_MAX_RANK 16u
#define EAVE_EXPR_MAX_STACK 32u

/* ---- File header and section table ---------------------------------------------------- */

typedef struct eave_file_header {
  char magic[8];                 /* EAVE_FORMAT_MAGIC */
  uint32_t format_version;       /* EAVE_FORMAT_VERSION */
  uint32_t header_size;          /* sizeof(eave_file_header) */
  uint64_t file_size;            /* the whole artifact; a shorter buffer is truncated */
  uint64_t section_table_offset; /* 8-aligned, right after the header in practice */
  uint32_t section_count;        /* at most EAVE_MAX_SECTIONS */
  uint32_t flags;                /* none defined: 0 */
  uint64_t checksum;             /* eave_artifact_hash of header (this field as 0) + table */
  uint8_t reserved[16];
} eave_file_header;

typedef enum eave_section_kind {
  EAVE_SECTION_STRINGS = 1, /* NUL-terminated strings; byte 0 is NUL */
  EAVE_SECTION_TARGET = 2,  /* eave_target_section */
  EAVE_SECTION_PROGRAM = 3, /* eave_program_section */
  EAVE_SECTION_CODE = 4,    /* ELF64 shared object with `eave_kernels` (absent for static) */
  EAVE_SECTION_WEIGHTS = 5, /* raw weight bytes, EAVE_WEIGHTS_ALIGNMENT-aligned offset */
  EAVE_SECTION_STEP_INFO = 6, /* optional, for tools only: eave_step_info_section */
} eave_section_kind;

/* A section of an unknown kind is skipped if it has this flag, an error otherwise. */
#define EAVE_SECTION_FLAG_OPTIONAL 1u

typedef struct eave_section_entry {
  uint32_t kind;     /* eave_section_kind */
  uint32_t flags;    /* EAVE_SECTION_FLAG_* */
  uint64_t offset;   /* from the start of the file */
  uint64_t size;     /* bytes */
  uint64_t checksum; /* eave_artifact_hash of the section's bytes */
} eave_section_entry;

/* The checksum of every section and of the header: a 64-bit multiply-rotate hash over
 * little-endian 8-byte words in four independent lanes (about 10 GB/s on a desktop core),
 * then the tail bytes and the length. Not cryptographic: it catches corruption, not tampering.
 * Defined in artifact_hash.c, linked by the runtime and by the compiler's writer. */
uint64_t eave_artifact_hash(const void* data, size_t size);

/* ---- TARGET -------------------------------------------------------------------------- */

typedef enum eave_arch {
  EAVE_ARCH_X86_64 = 1,
  EAVE_ARCH_AARCH64 = 2,
  EAVE_ARCH_RISCV64 = 3,
} eave_arch;

/* Followed by `feature_count` uint32 strings: the CPU features the code needs, spelled as
 * LLVM spells them ("avx2", "avx512bw", "neon", "dotprod", "v"). The runtime knows the names
 * in cpu_features.def; an unknown name is a load error, so write only features the code
 * really requires, not every feature LLVM implies. */
typedef struct eave_target_section {
  uint32_t arch;          /* eave_arch */
  uint32_t triple;        /* string: "x86_64-unknown-linux-gnu", ... */
  uint32_t cpu;           /* string: "znver4", "neoverse-n1", "generic-rv64" */
  uint32_t feature_count; /* at most 256 */
} eave_target_section;

/* ---- CODE: the kernel ABI ------------------------------------------------------------- */

#define EAVE_KERNEL_TABLE_MAGIC 0x4C4E524Bu /* "KRNL" as little-endian bytes */
#define EAVE_KERNEL_ABI_VERSION 1u
#define EAVE_KERNEL_TABLE_SYMBOL "eave_kernels"

/* buffers[k] is the data pointer of the step's operand k (inputs then outputs; NULL for an
 * absent optional input). syms is the session's symbol table. A kernel processes tiles
 * [tile_begin, tile_end) of its step; it may be called concurrently on disjoint ranges. It
 * allocates nothing, reads no globals and never fails. */
typedef void (*eave_kernel_fn)(void* const* buffers, const int64_t* syms, int64_t tile_begin,
                               int64_t tile_end);

typedef struct eave_kernel_table {
  uint32_t magic;       /* EAVE_KERNEL_TABLE_MAGIC */
  uint32_t abi_version; /* EAVE_KERNEL_ABI_VERSION */
  uint32_t count;       /* entries in fns */
  uint32_t reserved;
  eave_kernel_fn fns[]; /* KERNEL steps index this */
} eave_kernel_table;

/* ---- PROGRAM --------------------------------------------------------------------------- */

/* The PROGRAM section opens with a table of tables: where each flat table starts (8-aligned,
 * from the section start) and how many entries it has. Everything else refers to entries by
 * index. */
typedef enum eave_table_kind {
  EAVE_TABLE_SYMBOLS,  /* eave_symbol */
  EAVE_TABLE_VALUES,   /* eave_value */
  EAVE_TABLE_DIMS,     /* int64: d >= 0 is the constant d, d < 0 is symbol -d - 1 */
  EAVE_TABLE_STEPS,    /* eave_step */
  EAVE_TABLE_OPERANDS, /* int32 value ids; -1 = absent optional input */
  EAVE_TABLE_PROGRAMS, /* eave_program; program 0 is the model */
  EAVE_TABLE_LISTS,    /* uint32 value ids: program inputs and outputs */
  EAVE_TABLE_CODE,     /* uint8 expression bytecode */
  EAVE_TABLE_PARAMS,   /* uint8 builtin parameter blobs (each 8-aligned) */
  EAVE_TABLE_COUNT
} eave_table_kind;

typedef struct eave_table_ref {
  uint32_t offset; /* from the start of the PROGRAM section, 8-aligned */
  uint32_t count;  /* entries */
} eave_table_ref;

typedef struct eave_program_section {
  uint32_t table_count; /* EAVE_TABLE_COUNT */
  uint32_t reserved;
  eave_table_ref tables[EAVE_TABLE_COUNT];
} eave_program_section;

/* Dims: encode symbol s as EAVE_DIM_SYMBOL(s). */
#define EAVE_DIM_SYMBOL(s) (-(int64_t)(s)-1)
#define EAVE_DIM_IS_SYMBOL(d) ((d) < 0)
#define EAVE_DIM_SYMBOL_INDEX(d) ((uint32_t)(-((d) + 1)))

typedef enum eave_symbol_kind {
  /* Taken from input `input` axis `axis` of program `program` when that program starts
   * (program 0: the caller's bound input). */
  EAVE_SYMBOL_INPUT = 1,
  /* Computed by code[code, code + code_size) just before step `ready_step` of `program` runs,
   * or when `program` starts if ready_step is -1. Symbols with the same (program, ready_step)
   * are computed in index order. */
  EAVE_SYMBOL_EXPR = 2,
  /* Written while a step of `program` runs: by a builtin (NonZero's count, ...) or by a
   * control-flow step for its outputs (a LOOP's trip count, an IF branch's shapes). */
  EAVE_SYMBOL_RUNTIME = 3,
} eave_symbol_kind;

/* Every symbol belongs to one program, `program`. It is undefined each time that program
 * starts (every iteration of a loop body) and defined again as the program runs, so a value
 * of a program may use the symbols of that program and of the programs enclosing it, never
 * those of a nested program. */
typedef struct eave_symbol {
  uint32_t name;      /* string, used in messages and reported for dynamic dims */
  uint32_t kind;      /* eave_symbol_kind */
  int64_t min;        /* every value this symbol takes is checked against [min, max] */
  int64_t max;        /* -1: unbounded */
  uint32_t program;   /* the program it belongs to (see above) */
  uint32_t input;     /* INPUT: input slot of `program` */
  uint32_t axis;      /* INPUT */
  int32_t ready_step; /* EXPR: step of `program`, or -1 */
  uint32_t code;      /* EXPR: byte offset in the CODE table */
  uint32_t code_size; /* EXPR: bytes */
} eave_symbol;

/* Expression bytecode: one opcode byte, then its immediate (little-endian, unaligned).
 * Evaluated on an int64 stack of at most EAVE_EXPR_MAX_STACK entries; a program must leave
 * exactly one value. The loader checks every expression statically (opcodes, immediates,
 * indices, stack depth); overflow, division by zero and out-of-range LOAD are run errors. */
typedef enum eave_expr_op {
  EAVE_EXPR_CONST = 1,    /* int64 immediate; push it */
  EAVE_EXPR_SYM = 2,      /* uint32 symbol immediate; push its value */
  EAVE_EXPR_LOAD = 3,     /* uint32 value immediate; pop i; push element i of that integer
                             or bool value (already computed) */
  EAVE_EXPR_ADD = 4,      /* pop b, pop a, push a + b */
  EAVE_EXPR_SUB = 5,      /* a - b */
  EAVE_EXPR_MUL = 6,      /* a * b */
  EAVE_EXPR_FLOORDIV = 7, /* floor(a / b) */
  EAVE_EXPR_CEILDIV = 8,  /* ceil(a / b) */
  EAVE_EXPR_MOD = 9,      /* a - b * floor(a / b), the sign of b */
  EAVE_EXPR_MIN = 10,
  EAVE_EXPR_MAX = 11,
  EAVE_EXPR_NEG = 12, /* pop a, push -a */
  EAVE_EXPR_ABS = 13,
  EAVE_EXPR_EQ = 14,     /* a == b ? 1 : 0 */
  EAVE_EXPR_LT = 15,     /* a < b */
  EAVE_EXPR_LE = 16,     /* a <= b */
  EAVE_EXPR_SELECT = 17, /* pop b, pop a, pop c; push c != 0 ? a : b */
} eave_expr_op;

typedef enum eave_storage_kind {
  EAVE_STORAGE_ARENA = 1,  /* arena + offset; dims use only symbols known when its program
                              starts (INPUT, or EXPR with ready_step -1 and no LOAD) */
  EAVE_STORAGE_WEIGHT = 2, /* WEIGHTS + offset, `size` bytes, constant dims, read-only */
  EAVE_STORAGE_INPUT = 3,  /* input slot `index` of its program */
  EAVE_STORAGE_OUTPUT = 4, /* output slot `index` of its program */
  EAVE_STORAGE_HEAP = 5,   /* session memory sized when the value is first written */
  EAVE_STORAGE_ALIAS = 6,  /* bytes [offset, offset + its size) of value `index` */
} eave_storage_kind;

/* A value of kind SEQUENCE or OPTIONAL_* (eave_value_kind, runtime.h) is a list the session
 * holds: rank 0, `dtype` the element dtype, storage HEAP, INPUT or OUTPUT. Only builtins that
 * take lists and control-flow steps touch them; a KERNEL step never does. */
typedef struct eave_value {
  uint32_t name;   /* string; names model inputs and outputs */
  uint8_t dtype;   /* eave_dtype (of the elements, for lists) */
  uint8_t storage; /* eave_storage_kind */
  uint8_t rank;    /* at most EAVE_MAX_RANK */
  uint8_t kind;    /* eave_value_kind: TENSOR, SEQUENCE, OPTIONAL_TENSOR, OPTIONAL_SEQUENCE */
  uint32_t program;   /* the program whose steps use it */
  uint32_t dims;      /* first of `rank` entries in the DIMS table */
  uint64_t offset;    /* ARENA: planned offset; WEIGHT: offset in WEIGHTS; ALIAS: byte offset */
  uint64_t size;      /* ARENA: planned bytes (nominal shapes); WEIGHT: bytes */
  uint32_t index;     /* INPUT/OUTPUT: slot; ALIAS: the value it views (same program) */
  int32_t first_step; /* ARENA/HEAP: live range in its program's steps, inclusive; */
  int32_t last_step;  /* -1 for both when no step uses it */
  uint32_t reserved1;
} eave_value;

/* Control-flow steps run nested programs. Operands past the ones listed are the values the
 * nested program(s) capture from this one, passed after their explicit inputs. Any output of
 * a control-flow step may be -1 (unused). Output shapes are known when the step ends: dims
 * that name an undefined RUNTIME symbol of this program define it, every other dim must
 * agree, so branches and loop-carried values may change shape freely. */
typedef enum eave_step_kind {
  /* eave_kernels.fns[id](operand pointers, syms, tiles); `tiles` is a dim (constant or
   * symbol) split into contiguous chunks across the session's threads. */
  EAVE_STEP_KERNEL = 1,
  /* Builtin `id` of runtime/src/builtins/builtins.def with params[params, +params_size). */
  EAVE_STEP_BUILTIN = 2,
  /* inputs [cond, a..., b...]; programs[0] runs if cond's single element is nonzero, taking
   * a... (as many as it has inputs), else programs[1] taking b...; either gives the step's
   * outputs. */
  EAVE_STEP_IF = 3,
  /* ONNX Loop with id = N loop-carried values. inputs [max_trip (integer scalar) or -1,
   * cond (bool scalar) or -1, v_initial (N)..., captured...]; outputs [v_final (N)...,
   * scan (K)...]. Body programs[0] takes [iter (i64 scalar), cond (bool scalar), v (N)...,
   * captured...] and gives [cond, v_next (N)..., scan_element (K)...]; scan output k stacks
   * the iterations' elements (one dtype and shape in every iteration) along a new axis 0. */
  EAVE_STEP_LOOP = 4,
  /* ONNX Scan with id = N state values. params: an attribute blob (builtins/attrs.h) with
   * num_scan_inputs (M) and optionally scan_input_axes, scan_input_directions (M entries),
   * scan_output_axes, scan_output_directions (K entries); its opset below 9 selects the
   * opset-8 form (a batch axis 0 on every state, scan input and output, the sequence axis 1,
   * per-entry lengths, `directions` for the inputs). inputs [sequence_lens (opset 8) or -1,
   * s_initial (N)..., x (M)..., captured...]; outputs [s_final (N)..., y (K)...]. Body
   * programs[0] takes [s (N)..., slice of each x..., captured...] and gives
   * [s_next (N)..., element of each y (K)...]. */
  EAVE_STEP_SCAN = 5,
  /* ONNX SequenceMap with id = E explicit inputs. inputs [sequence, x (E-1)...,
   * captured...]; outputs [SEQUENCE...]. Body programs[0] runs once per position i of the
   * sequence, taking [element i, x_i..., captured...] (a SEQUENCE x gives its element i, and
   * must be as long; anything else passes whole) and giving one tensor per output sequence. */
  EAVE_STEP_SEQUENCE_MAP = 6,
} eave_step_kind;

typedef struct eave_step {
  uint32_t kind; /* eave_step_kind */
  uint32_t id;   /* KERNEL: kernel index; BUILTIN: builtin id; LOOP, SCAN, SEQUENCE_MAP: the
                    count described above; IF: 0 */
  uint32_t input_count;
  uint32_t output_count;
  uint32_t operands; /* first of input_count + output_count OPERANDS entries */
  uint32_t params;   /* BUILTIN, SCAN: byte offset in PARAMS, 8-aligned */
  uint32_t params_size;
  uint32_t programs[2]; /* IF: then, else; LOOP, SCAN, SEQUENCE_MAP: body, 0. Always > the
                           step's program; each nested program has exactly one step naming it. */
  uint32_t name;        /* string: the model node it comes from, for messages */
  int64_t tiles;        /* KERNEL: a dim */
} eave_step;

typedef struct eave_program {
  uint32_t name;       /* string: "main", "If_3.then", ... */
  uint32_t first_step; /* steps[first_step, first_step + step_count) in order */
  uint32_t step_count;
  uint32_t inputs; /* first of input_count LISTS entries (value ids, INPUT storage) */
  uint32_t input_count;
  uint32_t outputs; /* first of output_count LISTS entries (value ids, any storage) */
  uint32_t output_count;
  uint32_t reserved;
  uint64_t arena_size; /* bytes the compiler's plan needs for nominal shapes */
} eave_program;

/* ---- STEP_INFO (optional): where each step came from, for `eave profile` ---------------- *
 * Written flagged EAVE_SECTION_FLAG_OPTIONAL; the runtime never reads it (tools do, through
 * tools/step_info.h). Layout, each part 8-aligned from the section start:
 *   eave_step_info_section, then entry_count eave_step_info, then node_count eave_step_node,
 *   then code_size bytes of expression bytecode (the PROGRAM section's eave_expr_op code, over
 *   the same symbols, without LOAD), then strings_size bytes of NUL-terminated strings. */
typedef struct eave_step_info_section {
  uint32_t entry_count;
  uint32_t node_count;
  uint32_t code_size;
  uint32_t strings_size;
} eave_step_info_section;

typedef struct eave_step_info {
  uint32_t program;    /* the step: program index and step index inside it */
  uint32_t step;
  uint32_t first_node; /* the model nodes it runs: eave_step_node entries */
  uint32_t node_count;
  uint32_t flops;      /* floating-point operations per run: code offset; */
  uint32_t flops_size; /* 0 bytes when unknown */
} eave_step_info;

typedef struct eave_step_node {
  uint32_t name;    /* byte offsets into the section's strings */
  uint32_t op_type;
} eave_step_node;

/* ---- Layout checks: these sizes are the format ----------------------------------------- */

#if defined(__cplusplus)
#define EAVE_STATIC_ASSERT static_assert
#else
#define EAVE_STATIC_ASSERT _Static_assert
#endif
EAVE_STATIC_ASSERT(sizeof(eave_file_header) == 64, "eave_file_header layout");
EAVE_STATIC_ASSERT(sizeof(eave_section_entry) == 32, "eave_section_entry layout");
EAVE_STATIC_ASSERT(sizeof(eave_target_section) == 16, "eave_target_section layout");
EAVE_STATIC_ASSERT(sizeof(eave_kernel_table) == 16, "eave_kernel_table layout");
EAVE_STATIC_ASSERT(sizeof(eave_program_section) == 8 + 8 * EAVE_TABLE_COUNT, "program layout");
EAVE_STATIC_ASSERT(sizeof(eave_symbol) == 48, "eave_symbol layout");
EAVE_STATIC_ASSERT(sizeof(eave_value) == 48, "eave_value layout");
EAVE_STATIC_ASSERT(sizeof(eave_step) == 48, "eave_step layout");
EAVE_STATIC_ASSERT(sizeof(eave_program) == 40, "eave_program layout");
EAVE_STATIC_ASSERT(sizeof(eave_step_info_section) == 16, "eave_step_info_section layout");
EAVE_STATIC_ASSERT(sizeof(eave_step_info) == 24, "eave_step_info layout");
EAVE_STATIC_ASSERT(sizeof(eave_step_node) == 8, "eave_step_node layout");

#ifdef __cplusplus
}
#endif

#endif /* EAVE_ARTIFACT_FORMAT_H_ */
