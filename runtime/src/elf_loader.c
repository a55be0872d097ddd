#define _GNU_SOURCE /* MAP_ANONYMOUS */
#include "elf_loader.h"

#include <string.h>

#include "imports.h"

#if defined(__unix__)
#include <sys/mman.h>
#include <unistd.h>
#define EAVE_HAVE_MMAP 1
#endif

/* The ELF64 structures we read (from the System V gABI), declared here so the runtime needs no
 * <elf.h>. Read with memcpy: the file gives no alignment guarantee we could trust. */
typedef struct elf_header {
  uint8_t ident[16];
  uint16_t type, machine;
  uint32_t version;
  uint64_t entry, phoff, shoff;
  uint32_t flags;
  uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
} elf_header;

typedef struct elf_phdr {
  uint32_t type, flags;
  uint64_t offset, vaddr, paddr, filesz, memsz, align;
} elf_phdr;

typedef struct elf_sym {
  uint32_t name;
  uint8_t info, other;
  uint16_t shndx;
  uint64_t value, size;
} elf_sym;

typedef struct elf_rela {
  uint64_t offset, info;
  int64_t addend;
} elf_rela;

enum {
  ET_DYN = 3,
  EM_X86_64 = 62,
  EM_AARCH64 = 183,
  EM_RISCV = 243,
  PT_LOAD = 1,
  PT_DYNAMIC = 2,
  PT_INTERP = 3,
  PT_TLS = 7,
  PT_GNU_RELRO = 0x6474e552,
  PF_X = 1,
  PF_W = 2,
  PF_R = 4,
  STB_WEAK = 2,
};

enum { /* dynamic tags */
       DT_NULL = 0,
       DT_PLTRELSZ = 2,
       DT_HASH = 4,
       DT_STRTAB = 5,
       DT_SYMTAB = 6,
       DT_RELA = 7,
       DT_RELASZ = 8,
       DT_RELAENT = 9,
       DT_STRSZ = 10,
       DT_SYMENT = 11,
       DT_INIT = 12,
       DT_FINI = 13,
       DT_REL = 17,
       DT_PLTREL = 20,
       DT_TEXTREL = 22,
       DT_JMPREL = 23,
       DT_INIT_ARRAYSZ = 27,
       DT_FINI_ARRAYSZ = 28,
       DT_PREINIT_ARRAYSZ = 33,
       DT_RELRSZ = 35,
};

#define MAX_SEGMENTS 16
#define MAX_IMAGE_SIZE ((uint64_t)1 << 30)

typedef enum reloc_kind { R_NONE, R_RELATIVE, R_SYMBOL, R_UNKNOWN } reloc_kind;

/* The table in docs/design/runtime-artifact.md. GLOB_DAT, JUMP_SLOT and 64-bit absolute all
 * resolve to S + A. */
static reloc_kind classify_reloc(eave_arch arch, uint32_t type) {
  if (type == 0) return R_NONE;
  switch (arch) {
    case EAVE_ARCH_X86_64:
      return type == 8 ? R_RELATIVE : (type == 6 || type == 7 || type == 1) ? R_SYMBOL : R_UNKNOWN;
    case EAVE_ARCH_AARCH64:
      return type == 1027                                    ? R_RELATIVE
             : (type == 1025 || type == 1026 || type == 257) ? R_SYMBOL
                                                             : R_UNKNOWN;
    case EAVE_ARCH_RISCV64:
      return type == 3 ? R_RELATIVE : (type == 5 || type == 2) ? R_SYMBOL : R_UNKNOWN;
  }
  return R_UNKNOWN;
}

static uint16_t machine_of(eave_arch arch) {
  return arch == EAVE_ARCH_X86_64    ? EM_X86_64
         : arch == EAVE_ARCH_AARCH64 ? EM_AARCH64
         : arch == EAVE_ARCH_RISCV64 ? EM_RISCV
                                     : 0;
}

static eave_status bad(const char* fmt, const char* what) {
  return eave_make_status(EAVE_STATUS_INVALID_ARTIFACT, fmt, what);
}

/* The loader's working state: the image as copied, with its vaddr span. */
typedef struct loader {
  eave_arch arch;
  elf_phdr segs[MAX_SEGMENTS];
  int nsegs;
  uint64_t vmin, vmax; /* page-aligned span of the PT_LOAD segments */
  uint8_t* image;      /* where vmin is mapped */
  uint64_t page;
  uint64_t symtab, strtab, strsz, nsyms;
} loader;

/* Is [vaddr, vaddr + n) inside the image? */
static int in_image(const loader* L, uint64_t vaddr, uint64_t n) {
  return vaddr >= L->vmin && vaddr <= L->vmax && n <= L->vmax - vaddr;
}

static int read_image(const loader* L, uint64_t vaddr, void* out, uint64_t n) {
  if (!in_image(L, vaddr, n)) return -1;
  memcpy(out, L->image + (vaddr - L->vmin), (size_t)n);
  return 0;
}

/* The segment that contains [vaddr, vaddr + n), or NULL. */
static const elf_phdr* segment_at(const loader* L, uint64_t vaddr, uint64_t n) {
  for (int i = 0; i < L->nsegs; ++i) {
    const elf_phdr* s = &L->segs[i];
    if (vaddr >= s->vaddr && vaddr - s->vaddr <= s->memsz && n <= s->memsz - (vaddr - s->vaddr))
      return s;
  }
  return NULL;
}

/* Symbol `index`'s name, NUL-terminated inside DT_STRTAB, or NULL. */
static const char* symbol_name(const loader* L, const elf_sym* sym) {
  if (sym->name >= L->strsz || !in_image(L, L->strtab, L->strsz)) return NULL;
  const char* s = (const char*)L->image + (L->strtab - L->vmin) + sym->name;
  return memchr(s, 0, (size_t)(L->strsz - sym->name)) ? s : NULL;
}

static eave_status check_headers(const uint8_t* elf, size_t size, loader* L) {
  elf_header eh;
  if (size < sizeof eh) return bad("CODE: %s", "too small for an ELF header");
  memcpy(&eh, elf, sizeof eh);
  if (memcmp(eh.ident,
             "\x7f"
             "ELF",
             4) != 0)
    return bad("CODE: %s", "not an ELF file (bad magic)");
  if (eh.ident[4] != 2 || eh.ident[5] != 1)
    return bad("CODE: %s", "ELF is not 64-bit little-endian");
  if (eh.type != ET_DYN) return bad("CODE: %s", "ELF is not a shared object (e_type)");
  if (eh.machine != machine_of(L->arch))
    return eave_make_status(EAVE_STATUS_UNSUPPORTED,
                            "CODE: ELF e_machine %u is not this CPU's architecture (%u)",
                            eh.machine, machine_of(L->arch));
  if (eh.phentsize != sizeof(elf_phdr) || eh.phoff > size ||
      (uint64_t)eh.phnum * sizeof(elf_phdr) > size - eh.phoff)
    return bad("CODE: %s", "ELF program headers out of bounds");
  L->vmin = UINT64_MAX;
  L->vmax = 0;
  for (int i = 0; i < eh.phnum; ++i) {
    elf_phdr ph;
    memcpy(&ph, elf + eh.phoff + (size_t)i * sizeof ph, sizeof ph);
    if (ph.type == PT_TLS || ph.type == PT_INTERP)
      return bad("CODE: %s",
                 "ELF has PT_TLS or PT_INTERP (thread-locals and executables are "
                 "not supported)");
    if (ph.type == PT_LOAD) {
      if (L->nsegs == MAX_SEGMENTS) return bad("CODE: %s", "too many PT_LOAD segments");
      if (ph.offset > size || ph.filesz > size - ph.offset || ph.filesz > ph.memsz ||
          ph.memsz > MAX_IMAGE_SIZE || ph.vaddr > MAX_IMAGE_SIZE)
        return bad("CODE: %s", "PT_LOAD segment out of bounds");
      if ((ph.flags & PF_W) && (ph.flags & PF_X))
        return bad("CODE: %s", "a PT_LOAD segment is both writable and executable (W^X)");
      if (ph.align > L->page && (ph.align & (ph.align - 1)) == 0 && ph.align <= 65536)
        L->page = ph.align; /* keep the linker's alignment for the image base */
      uint64_t lo = ph.vaddr & ~(uint64_t)4095, hi = ph.vaddr + ph.memsz;
      if (lo < L->vmin) L->vmin = lo;
      if (hi > L->vmax) L->vmax = hi;
      L->segs[L->nsegs++] = ph;
    }
  }
  if (L->nsegs == 0) return bad("CODE: %s", "ELF has no PT_LOAD segment");
  return NULL;
}

/* Segments with different protections must not share a page of the running system. */
static eave_status check_page_sharing(const loader* L, uint64_t page) {
  for (int i = 0; i < L->nsegs; ++i)
    for (int j = i + 1; j < L->nsegs; ++j) {
      const elf_phdr *a = &L->segs[i], *b = &L->segs[j];
      uint64_t a0 = a->vaddr & ~(page - 1), a1 = (a->vaddr + a->memsz + page - 1) & ~(page - 1);
      uint64_t b0 = b->vaddr & ~(page - 1), b1 = (b->vaddr + b->memsz + page - 1) & ~(page - 1);
      if (a0 < b1 && b0 < a1 && (a->flags & 7) != (b->flags & 7))
        return bad("CODE: %s", "segments with different protections share a page");
    }
  return NULL;
}

typedef struct dynamic_info {
  uint64_t rela, relasz, relaent, jmprel, pltrelsz, pltrel, hash, syment;
  int has_symtab, has_strtab, has_hash;
} dynamic_info;

static eave_status read_dynamic(loader* L, const uint8_t* elf, size_t size, dynamic_info* d) {
  elf_header eh;
  memcpy(&eh, elf, sizeof eh);
  memset(d, 0, sizeof *d);
  d->relaent = d->syment = 24;
  const elf_phdr* dyn = NULL;
  elf_phdr ph;
  for (int i = 0; i < eh.phnum; ++i) {
    memcpy(&ph, elf + eh.phoff + (size_t)i * sizeof ph, sizeof ph);
    if (ph.type == PT_DYNAMIC) dyn = &ph;
    if (dyn) break;
  }
  if (!dyn) return bad("CODE: %s", "ELF has no PT_DYNAMIC");
  if (!segment_at(L, dyn->vaddr, dyn->memsz)) return bad("CODE: %s", "PT_DYNAMIC out of bounds");
  for (uint64_t off = 0; off + 16 <= dyn->memsz; off += 16) {
    int64_t tag = 0;
    uint64_t val = 0;
    if (read_image(L, dyn->vaddr + off, &tag, 8) || read_image(L, dyn->vaddr + off + 8, &val, 8))
      return bad("CODE: %s", "PT_DYNAMIC out of bounds");
    switch (tag) {
      case DT_NULL: off = dyn->memsz; break;
      case DT_RELA: d->rela = val; break;
      case DT_RELASZ: d->relasz = val; break;
      case DT_RELAENT: d->relaent = val; break;
      case DT_JMPREL: d->jmprel = val; break;
      case DT_PLTRELSZ: d->pltrelsz = val; break;
      case DT_PLTREL: d->pltrel = val; break;
      case DT_HASH: d->hash = val, d->has_hash = 1; break;
      case DT_SYMTAB: L->symtab = val, d->has_symtab = 1; break;
      case DT_STRTAB: L->strtab = val, d->has_strtab = 1; break;
      case DT_STRSZ: L->strsz = val; break;
      case DT_SYMENT: d->syment = val; break;
      case DT_REL: return bad("CODE: %s", "REL relocations (DT_REL) are not supported; use RELA");
      case DT_RELRSZ:
        if (val) return bad("CODE: %s", "packed relocations (DT_RELR) are not supported");
        break;
      case DT_TEXTREL: return bad("CODE: %s", "text relocations (DT_TEXTREL) break W^X");
      case DT_INIT:
      case DT_FINI: return bad("CODE: %s", "ELF initializers/finalizers are not supported");
      case DT_INIT_ARRAYSZ:
      case DT_FINI_ARRAYSZ:
      case DT_PREINIT_ARRAYSZ:
        if (val) return bad("CODE: %s", "ELF initializers/finalizers are not supported");
        break;
      default: break; /* DT_NEEDED, DT_FLAGS, DT_SONAME, ...: nothing to do */
    }
  }
  (void)size;
  if (!d->has_symtab || !d->has_strtab || !d->has_hash)
    return bad("CODE: %s",
               "ELF lacks DT_SYMTAB, DT_STRTAB or DT_HASH (link with "
               "--hash-style=sysv)");
  if (d->relaent != sizeof(elf_rela) || d->syment != sizeof(elf_sym))
    return bad("CODE: %s", "unexpected DT_RELAENT or DT_SYMENT");
  if (d->pltrelsz && d->pltrel != DT_RELA) return bad("CODE: %s", "DT_PLTREL is not RELA");
  uint32_t nchain;
  if (read_image(L, d->hash + 4, &nchain, 4) != 0) return bad("CODE: %s", "DT_HASH out of bounds");
  L->nsyms = nchain;
  if (!in_image(L, L->symtab, L->nsyms * sizeof(elf_sym)) || !in_image(L, L->strtab, L->strsz))
    return bad("CODE: %s", "symbol or string table out of bounds");
  return NULL;
}

static eave_status apply_relocations(loader* L, uint64_t table, uint64_t bytes) {
  if (bytes % sizeof(elf_rela) || !in_image(L, table, bytes))
    return bad("CODE: %s", "relocation table out of bounds");
  uint64_t bias = (uint64_t)(uintptr_t)L->image - L->vmin;
  for (uint64_t off = 0; off < bytes; off += sizeof(elf_rela)) {
    elf_rela r;
    read_image(L, table + off, &r, sizeof r);
    uint32_t type = (uint32_t)r.info, sym_index = (uint32_t)(r.info >> 32);
    reloc_kind kind = classify_reloc(L->arch, type);
    if (kind == R_NONE) continue;
    if (kind == R_UNKNOWN)
      return eave_make_status(EAVE_STATUS_INVALID_ARTIFACT,
                              "CODE: relocation type %u is not supported on %s", type,
                              L->arch == EAVE_ARCH_X86_64    ? "x86-64"
                              : L->arch == EAVE_ARCH_AARCH64 ? "aarch64"
                                                             : "riscv64");
    const elf_phdr* target = segment_at(L, r.offset, 8);
    if (!target || !(target->flags & PF_W))
      return bad("CODE: %s", "relocation target outside the writable segments");
    uint64_t value = bias + (uint64_t)r.addend;
    if (kind == R_SYMBOL) {
      elf_sym sym;
      if (sym_index == 0 || sym_index >= L->nsyms)
        return bad("CODE: %s", "relocation symbol index out of range");
      read_image(L, L->symtab + (uint64_t)sym_index * sizeof sym, &sym, sizeof sym);
      const char* name = symbol_name(L, &sym);
      if (!name) return bad("CODE: %s", "symbol name out of bounds");
      uint64_t s;
      if (sym.shndx != 0) {
        if (!in_image(L, sym.value, 0)) return bad("CODE: symbol '%s' out of bounds", name);
        s = bias + sym.value;
      } else {
        void* imported = eave_import_find(name);
        if (!imported && (sym.info >> 4) != STB_WEAK)
          return eave_make_status(EAVE_STATUS_UNSUPPORTED,
                                  "CODE: imports '%s', which the runtime does not provide", name);
        s = (uint64_t)(uintptr_t)imported; /* an unresolved weak symbol is 0 */
      }
      value = s + (uint64_t)r.addend;
    }
    memcpy(L->image + (r.offset - L->vmin), &value, 8);
  }
  return NULL;
}

/* Finds `eave_kernels` and checks its header and that every entry points into executable
 * code of the image. */
static eave_status find_kernels(loader* L, const eave_kernel_table** out) {
  for (uint64_t i = 1; i < L->nsyms; ++i) {
    elf_sym sym;
    read_image(L, L->symtab + i * sizeof sym, &sym, sizeof sym);
    const char* name = symbol_name(L, &sym);
    if (!name || sym.shndx == 0 || strcmp(name, EAVE_KERNEL_TABLE_SYMBOL) != 0) continue;
    eave_kernel_table head;
    if (sym.value % 8 || read_image(L, sym.value, &head, sizeof head) != 0)
      return bad("CODE: %s", "eave_kernels out of bounds or misaligned");
    if (head.magic != EAVE_KERNEL_TABLE_MAGIC || head.abi_version != EAVE_KERNEL_ABI_VERSION)
      return eave_make_status(EAVE_STATUS_INVALID_ARTIFACT,
                              "CODE: eave_kernels has magic 0x%08x ABI %u; expected 0x%08x ABI %u",
                              head.magic, head.abi_version, EAVE_KERNEL_TABLE_MAGIC,
                              EAVE_KERNEL_ABI_VERSION);
    uint64_t bias = (uint64_t)(uintptr_t)L->image - L->vmin;
    if (!in_image(L, sym.value + sizeof head, (uint64_t)head.count * sizeof(void*)))
      return bad("CODE: %s", "eave_kernels entries out of bounds");
    const eave_kernel_table* table = (const eave_kernel_table*)(L->image + (sym.value - L->vmin));
    for (uint32_t k = 0; k < head.count; ++k) {
      uint64_t fn = (uint64_t)(uintptr_t)table->fns[k] - bias;
      const elf_phdr* seg = segment_at(L, fn, 1);
      if (!seg || !(seg->flags & PF_X))
        return eave_make_status(EAVE_STATUS_INVALID_ARTIFACT,
                                "CODE: eave_kernels entry %u points outside the code", k);
    }
    *out = table;
    return NULL;
  }
  return bad("CODE: %s", "no symbol 'eave_kernels' in .dynsym");
}

#if EAVE_HAVE_MMAP
static int prot_of(uint32_t flags) {
  return ((flags & PF_R) ? PROT_READ : 0) | ((flags & PF_W) ? PROT_WRITE : 0) |
         ((flags & PF_X) ? PROT_EXEC : 0);
}

/* mprotect of image bytes [begin, end), widened to whole pages of the running system. */
static int protect(uint8_t* base, uint64_t begin, uint64_t end, uint64_t page, int prot) {
  uint64_t b = begin & ~(page - 1), e = (end + page - 1) & ~(page - 1);
  return e > b ? mprotect(base + b, (size_t)(e - b), prot) : 0;
}

eave_status eave_elf_load(const uint8_t* elf, size_t size, eave_arch arch, eave_code_image* out) {
  memset(out, 0, sizeof *out);
  loader L;
  memset(&L, 0, sizeof L);
  L.arch = arch;
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  L.page = page;
  EAVE_RETURN_IF_ERROR(check_headers(elf, size, &L));
  EAVE_RETURN_IF_ERROR(check_page_sharing(&L, page));
  L.vmin &= ~(page - 1);
  L.vmax = (L.vmax + page - 1) & ~(page - 1);
  /* Map extra so the image base can honour the segments' alignment. */
  size_t span = (size_t)(L.vmax - L.vmin), extra = (size_t)(L.page > page ? L.page - page : 0);
  uint8_t* map =
      mmap(NULL, span + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED)
    return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "CODE: cannot map %zu bytes", span);
  out->mapping = map;
  out->mapping_size = span + extra;
  L.image = (uint8_t*)(((uintptr_t)map + (L.page - 1)) & ~(uintptr_t)(L.page - 1));
  for (int i = 0; i < L.nsegs; ++i)
    memcpy(L.image + (L.segs[i].vaddr - L.vmin), elf + L.segs[i].offset, (size_t)L.segs[i].filesz);

  eave_status st;
  dynamic_info d;
  if ((st = read_dynamic(&L, elf, size, &d)) || (st = apply_relocations(&L, d.rela, d.relasz)) ||
      (st = apply_relocations(&L, d.jmprel, d.pltrelsz))) {
    eave_elf_unload(out);
    return st;
  }
  int failed = mprotect(L.image, span, PROT_NONE) != 0;
  for (int i = 0; i < L.nsegs && !failed; ++i) {
    const elf_phdr* s = &L.segs[i];
    failed =
        protect(L.image, s->vaddr - L.vmin, s->vaddr - L.vmin + s->memsz, page, prot_of(s->flags));
    if (s->flags & PF_X)
      __builtin___clear_cache((char*)L.image + (s->vaddr - L.vmin),
                              (char*)L.image + (s->vaddr - L.vmin + s->memsz));
  }
  /* RELRO: what the relocations wrote becomes read-only (only whole pages inside it). */
  elf_header eh;
  memcpy(&eh, elf, sizeof eh);
  for (int i = 0; i < eh.phnum && !failed; ++i) {
    elf_phdr ph;
    memcpy(&ph, elf + eh.phoff + (size_t)i * sizeof ph, sizeof ph);
    if (ph.type != PT_GNU_RELRO || !segment_at(&L, ph.vaddr, ph.memsz)) continue;
    uint64_t b = (ph.vaddr + page - 1) & ~(page - 1), e = (ph.vaddr + ph.memsz) & ~(page - 1);
    if (e > b) failed = mprotect(L.image + (b - L.vmin), (size_t)(e - b), PROT_READ) != 0;
  }
  if (failed) {
    eave_elf_unload(out);
    return eave_make_status(EAVE_STATUS_UNSUPPORTED,
                            "CODE: mprotect failed (executable memory not allowed here?)");
  }
  if ((st = find_kernels(&L, &out->kernels))) {
    eave_elf_unload(out);
    return st;
  }
  return NULL;
}

void eave_elf_unload(eave_code_image* image) {
  if (image->mapping) munmap(image->mapping, image->mapping_size);
  memset(image, 0, sizeof *image);
}
#else
eave_status eave_elf_load(const uint8_t* elf, size_t size, eave_arch arch, eave_code_image* out) {
  memset(out, 0, sizeof *out);
  return eave_make_status(EAVE_STATUS_UNSUPPORTED,
                          "CODE: this runtime has no ELF loader (no mmap); use a static-lib "
                          "model");
}

void eave_elf_unload(eave_code_image* image) { memset(image, 0, sizeof *image); }
#endif
