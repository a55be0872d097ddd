// Every way an artifact or a call can be wrong gets a clear status, never a crash: truncation,
// corruption, wrong target, missing CPU features, bad imports, bad program tables, bad inputs,
// and running out of memory.
#include <cstdio>
#include <cstring>
#include <functional>

#include "codegen/builtin_attrs.h"
#include "runtime/src/artifact_format.h"
#include "runtime/src/cpu_features.h"
#include "tests/runtime/runtime_test_util.h"

// Corrupted artifacts may ask for absurd arenas: under AddressSanitizer, let malloc return
// NULL (as libc does) so the runtime's out-of-memory status is what gets tested.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }

namespace eave::testing {
namespace {

using namespace artifact;
using artifact::Dim;

std::vector<uint8_t> smoke_bytes() {
  ArtifactWriter w;
  init_host_writer(w);
  build_smoke_model(w);
  return w.bytes();
}

eave_status load(const std::vector<uint8_t>& bytes, int verify_weights = 1) {
  eave_model_options o;
  eave_model_options_initialize(&o);
  o.verify_weights = verify_weights;
  ModelPtr m;
  return load_bytes(bytes, &m, &o);
}

eave_section_entry section(const std::vector<uint8_t>& bytes, uint32_t kind) {
  eave_file_header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  for (uint32_t i = 0; i < h.section_count; ++i) {
    eave_section_entry e;
    std::memcpy(&e, bytes.data() + h.section_table_offset + i * sizeof e, sizeof e);
    if (e.kind == kind) return e;
  }
  ADD_FAILURE() << "no section " << kind;
  return {};
}

// Recomputes every checksum, so a deliberate corruption reaches the checks behind them.
void rehash(std::vector<uint8_t>& bytes) {
  eave_file_header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  uint8_t* table = bytes.data() + h.section_table_offset;
  for (uint32_t i = 0; i < h.section_count; ++i) {
    eave_section_entry e;
    std::memcpy(&e, table + i * sizeof e, sizeof e);
    e.checksum = eave_artifact_hash(bytes.data() + e.offset, e.size);
    std::memcpy(table + i * sizeof e, &e, sizeof e);
  }
  h.checksum = 0;
  std::memcpy(bytes.data(), &h, sizeof h);
  h.checksum =
      eave_artifact_hash(bytes.data(), sizeof h + h.section_count * sizeof(eave_section_entry));
  std::memcpy(bytes.data(), &h, sizeof h);
}

TEST(RuntimeBadInput, TruncatedAtEveryLength) {
  std::vector<uint8_t> bytes = smoke_bytes();
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    ASSERT_TRUE(Fails(load(cut), EAVE_STATUS_INVALID_ARTIFACT, "truncated")) << n << " bytes";
  }
  EXPECT_TRUE(Ok(load(bytes)));
}

TEST(RuntimeBadInput, FlippedBytesAreCaughtByChecksums) {
  std::vector<uint8_t> bytes = smoke_bytes();
  eave_file_header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  size_t covered_end = h.section_table_offset + h.section_count * sizeof(eave_section_entry);
  for (size_t i = 0; i < covered_end; ++i) {  // header and section table
    std::vector<uint8_t> bad = bytes;
    bad[i] ^= 0x5a;
    eave_status st = load(bad);
    ASSERT_NE(st, nullptr) << "header byte " << i;
    eave_status_release(st);
  }
  for (uint32_t kind = EAVE_SECTION_STRINGS; kind <= EAVE_SECTION_WEIGHTS; ++kind) {
    eave_section_entry e = section(bytes, kind);
    for (size_t i = e.offset; i < e.offset + e.size; ++i) {
      std::vector<uint8_t> bad = bytes;
      bad[i] ^= 0x01;
      ASSERT_TRUE(Fails(load(bad), EAVE_STATUS_INVALID_ARTIFACT, "checksum mismatch"))
          << "section " << kind << " byte " << i;
    }
  }
}

TEST(RuntimeBadInput, WeightsChecksumCanBeSkipped) {
  std::vector<uint8_t> bytes = smoke_bytes();
  eave_section_entry w = section(bytes, EAVE_SECTION_WEIGHTS);
  bytes[w.offset + 5] ^= 0x10;
  EXPECT_TRUE(Fails(load(bytes), EAVE_STATUS_INVALID_ARTIFACT, "section WEIGHTS: checksum"));
  EXPECT_TRUE(Ok(load(bytes, /*verify_weights=*/0)));
}

TEST(RuntimeBadInput, CorruptProgramTablesNeverCrash) {
  // Every byte of PROGRAM flipped with valid checksums: the validator must answer.
  std::vector<uint8_t> bytes = smoke_bytes();
  eave_section_entry p = section(bytes, EAVE_SECTION_PROGRAM);
  int rejected = 0;
  for (size_t i = p.offset; i < p.offset + p.size; ++i)
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> bad = bytes;
      bad[i] ^= flip;
      rehash(bad);
      eave_status st = load(bad);
      rejected += st != nullptr;
      eave_status_release(st);
    }
  EXPECT_GT(rejected, 0);
}

// Builtins and control flow only, so that corrupted copies that still load can also run
// (generated kernels trust their shapes; the runtime's own code must not need to):
// h = NonZero(x) as HEAP [1, m]; flat = h viewed as [m]; y = IF c THEN copy(flat) ELSE
// copy(flat); z = LOOP trips times { state = copy(state) } from flat; a LOAD of flat[0].
void build_builtin_model(ArtifactWriter& w) {
  init_host_writer(w);
  SymbolId n = w.add_dim_symbol("n", {1, 64}, 8);
  SymbolId m = w.add_runtime_symbol("m", {0, 64});
  ProgramBuilder& then_p = w.add_program("then");
  ProgramBuilder& else_p = w.add_program("else");
  ProgramBuilder& body = w.add_program("body");
  for (ProgramBuilder* b : {&then_p, &else_p}) {
    ValueId in = b->add_input("in", EAVE_DTYPE_I64, {Dim::sym(m)});
    ValueId out = b->add_output("out", EAVE_DTYPE_I64, {Dim::sym(m)});
    b->add_builtin("copy", Builtin::COPY, {in}, {out});
  }
  body.add_input("iter", EAVE_DTYPE_I64, {});
  ValueId cond = body.add_input("cond", EAVE_DTYPE_BOOL, {});
  ValueId state = body.add_input("state", EAVE_DTYPE_I64, {Dim::sym(m)});
  body.add_output_value(cond);
  ValueId next = body.add_output("next", EAVE_DTYPE_I64, {Dim::sym(m)});
  body.add_builtin("copy", Builtin::COPY, {state}, {next});
  ProgramBuilder& p = w.main();
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {Dim::sym(n)});
  ValueId c = p.add_input("c", EAVE_DTYPE_BOOL, {});
  ValueId trips = p.add_input("trips", EAVE_DTYPE_I64, {});
  ValueId h = p.add_heap("h", EAVE_DTYPE_I64, {1, Dim::sym(m)});
  ValueId flat = p.add_alias("flat", EAVE_DTYPE_I64, {Dim::sym(m)}, h);
  ValueId y = p.add_output("y", EAVE_DTYPE_I64, {Dim::sym(m)});
  ValueId z = p.add_output("z", EAVE_DTYPE_I64, {Dim::sym(m)});
  p.add_builtin("NonZero", Builtin::NONZERO, {x}, {h});
  w.add_expr_symbol("first", Expr::load(flat, 0) + Expr::sym(m), {}, 0, /*ready_step=*/1);
  p.add_if("If", c, {flat}, {flat}, {y}, then_p.id(), else_p.id());
  p.add_loop("Loop", trips, std::nullopt, {flat}, {z}, body.id());
}

// SCAN attributes for the corruption model: one scan input along axis 0, opset 11.
std::vector<uint8_t> scan_attrs() {
  Model model;
  model.opsets[""] = 11;
  model.graph = std::make_shared<Graph>();
  model.graph->set_model(&model);
  Node* n = model.graph->add_node(OpKind::Scan, {}, {}, "scan");
  n->set_attr("num_scan_inputs", Attribute::of_int(1));
  return encode_builtin_attrs(*n);
}

// Binds the builtin model's inputs and runs; returns the status.
eave_status run_builtin_model(eave_model* m, std::vector<float>& x, uint8_t& c, int64_t& trips) {
  eave_session* s = nullptr;
  eave_status st = eave_session_create(m, nullptr, &s);
  if (st) return st;
  SessionPtr session(s);
  int64_t n = int64_t(x.size());
  eave_tensor tx{EAVE_DTYPE_F32, 1, &n, x.data(), x.size() * 4};
  eave_tensor tc{EAVE_DTYPE_BOOL, 0, nullptr, &c, 1};
  eave_tensor tt{EAVE_DTYPE_I64, 0, nullptr, &trips, 8};
  if ((st = eave_session_bind_input(s, 0, &tx)) || (st = eave_session_bind_input(s, 1, &tc)) ||
      (st = eave_session_bind_input(s, 2, &tt)) || (st = eave_session_run(s)))
    return st;
  for (int32_t i = 0; i < eave_model_output_count(m); ++i) {
    eave_tensor_info info;
    if ((st = eave_model_get_output(m, i, &info))) return st;
    eave_tensor out;
    int32_t present = 0, count = 0;
    if (info.kind != EAVE_VALUE_TENSOR) {
      if ((st = eave_session_get_output_list(s, i, &present, &count))) return st;
      for (int32_t k = 0; k < count; ++k)
        if ((st = eave_session_get_output_item(s, i, k, &out))) return st;
    } else if ((st = eave_session_get_output(s, i, &out))) {
      return st;
    }
  }
  return nullptr;
}

// Flips bits of every PROGRAM byte of the model `build` makes (with valid checksums), loads each
// copy and runs those that load: statuses, never a crash.
void corrupt_and_run(void (*build)(ArtifactWriter&), std::vector<float> x, uint8_t c,
                     int64_t trips, std::initializer_list<uint8_t> flips, const char* what) {
  ArtifactWriter w;
  build(w);
  std::vector<uint8_t> bytes = w.bytes();
  {
    ModelPtr m;
    ASSERT_TRUE(Ok(load_bytes(bytes, &m)));
    ASSERT_TRUE(Ok(run_builtin_model(m.get(), x, c, trips)));
  }
  eave_section_entry p = section(bytes, EAVE_SECTION_PROGRAM);
  int loaded = 0, ran = 0;
  for (size_t i = p.offset; i < p.offset + p.size; ++i)
    for (uint8_t flip : flips) {
      std::vector<uint8_t> bad = bytes;
      bad[i] ^= flip;
      rehash(bad);
      ModelPtr m;
      eave_status st = load_bytes(bad, &m);
      if (st) {
        eave_status_release(st);
        continue;
      }
      ++loaded;
      st = run_builtin_model(m.get(), x, c, trips);
      ran += st == nullptr;
      eave_status_release(st);
    }
  std::printf("corrupted %s: %d loaded, %d of them ran\n", what, loaded, ran);
  EXPECT_GT(loaded, 0);
  EXPECT_GT(ran, 0);
}

TEST(RuntimeBadInput, CorruptBuiltinProgramsLoadAndRunSafely) {
  corrupt_and_run(build_builtin_model, {0, 1, 0, 2, 3, 0, 0, 0}, 1, 2, {0x01, 0x02, 0x80},
                  "copies");
}

// Control flow and sequences made of builtins only, for the same corruption test: x (f32 [n])
// -> LOOP trips times { state' = copy(state); element = copy(state); pieces' = pieces + state }
// with a stacked scan output; SCAN over x's rows { s' = copy(row); y = copy(s) }; IF c THEN
// NonZero(x) ELSE NonZero(state); SEQUENCE_MAP copy over SplitToSequence(x); and
// ConcatFromSequence / SequenceAt / Optional of the results.
void build_control_flow_model(ArtifactWriter& w) {
  init_host_writer(w);
  ProgramBuilder& body = w.add_program("loop_body");
  ProgramBuilder& scan_body = w.add_program("scan_body");
  ProgramBuilder& then_p = w.add_program("then");
  ProgramBuilder& else_p = w.add_program("else");
  ProgramBuilder& map_body = w.add_program("map_body");
  SymbolId n = w.add_dim_symbol("n", {1, 64}, 8);
  SymbolId trips_sym = w.add_runtime_symbol("trips", {0, 16});
  SymbolId r = w.add_runtime_symbol("r");
  SymbolId joined = w.add_runtime_symbol("joined");
  SymbolId at_len = w.add_runtime_symbol("at_len");
  {
    body.add_input("iter", EAVE_DTYPE_I64, {});
    ValueId cond = body.add_input("cond", EAVE_DTYPE_BOOL, {});
    ValueId state = body.add_input("state", EAVE_DTYPE_F32, {Dim::sym(n)});
    ValueId pieces = body.add_input("pieces", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
    body.add_output_value(cond);
    ValueId next = body.add_output("next", EAVE_DTYPE_F32, {Dim::sym(n)});
    ValueId pieces_next = body.add_output("pieces'", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
    ValueId elem = body.add_output("elem", EAVE_DTYPE_F32, {Dim::sym(n)});
    body.add_builtin("copy", Builtin::COPY, {state}, {next});
    body.add_builtin("insert", Builtin::SEQUENCE_INSERT, {pieces, state}, {pieces_next});
    body.add_builtin("copy", Builtin::COPY, {state}, {elem});
  }
  {
    ValueId s = scan_body.add_input("s", EAVE_DTYPE_F32, {1});
    ValueId row = scan_body.add_input("row", EAVE_DTYPE_F32, {1});
    ValueId s_next = scan_body.add_output("s'", EAVE_DTYPE_F32, {1});
    ValueId y = scan_body.add_output("y", EAVE_DTYPE_F32, {1});
    scan_body.add_builtin("copy", Builtin::COPY, {row}, {s_next});
    scan_body.add_builtin("copy", Builtin::COPY, {s}, {y});
  }
  SymbolId then_count = w.add_runtime_symbol("then_count", {}, then_p.id());
  SymbolId else_count = w.add_runtime_symbol("else_count", {}, else_p.id());
  for (auto [b, count] : {std::pair{&then_p, then_count}, std::pair{&else_p, else_count}}) {
    ValueId in = b->add_input("in", EAVE_DTYPE_F32, {Dim::sym(n)});
    ValueId out = b->add_output("out", EAVE_DTYPE_I64, {1, Dim::sym(count)});
    b->add_builtin("nonzero", Builtin::NONZERO, {in}, {out});
  }
  {
    SymbolId e = w.add_dim_symbol("e", {0, 64}, 1);
    ValueId in = map_body.add_input("in", EAVE_DTYPE_F32, {Dim::sym(e)});
    ValueId out = map_body.add_output("out", EAVE_DTYPE_F32, {Dim::sym(e)});
    map_body.add_builtin("copy", Builtin::COPY, {in}, {out});
  }
  ProgramBuilder& p = w.main();
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {Dim::sym(n)});
  ValueId c = p.add_input("c", EAVE_DTYPE_BOOL, {});
  ValueId trips = p.add_input("trips", EAVE_DTYPE_I64, {});
  ValueId last = p.add_output("last", EAVE_DTYPE_F32, {Dim::sym(n)});
  ValueId stacked = p.add_output("stacked", EAVE_DTYPE_F32, {Dim::sym(trips_sym), Dim::sym(n)});
  ValueId nz = p.add_output("nz", EAVE_DTYPE_I64, {1, Dim::sym(r)});
  ValueId cat = p.add_output("cat", EAVE_DTYPE_F32, {Dim::sym(joined)});
  ValueId at = p.add_output("at", EAVE_DTYPE_F32, {Dim::sym(at_len)});
  ValueId opt = p.add_output("opt", EAVE_DTYPE_F32, {}, EAVE_VALUE_OPTIONAL_SEQUENCE);
  ValueId scan_y = p.add_output("scan_y", EAVE_DTYPE_F32, {Dim::sym(n), 1});
  ValueId empty = p.add_heap("empty", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
  ValueId pieces = p.add_heap("pieces", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
  ValueId split = p.add_heap("split", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
  ValueId mapped = p.add_heap("mapped", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
  ValueId rows = p.add_alias("rows", EAVE_DTYPE_F32, {Dim::sym(n), 1}, x);
  ValueId scan_s = p.add_heap("scan_s", EAVE_DTYPE_F32, {1});
  int64_t zero = 0;
  ValueId pos = p.add_weight("pos", EAVE_DTYPE_I64, {}, {reinterpret_cast<uint8_t*>(&zero), 8});
  float one = 1;
  ValueId init = p.add_weight("init", EAVE_DTYPE_F32, {1}, {reinterpret_cast<uint8_t*>(&one), 4});
  p.add_builtin("empty", Builtin::SEQUENCE_EMPTY, {}, {empty});
  p.add_loop("Loop", trips, std::nullopt, {x, empty}, {last, pieces, stacked}, body.id());
  p.add_scan("Scan", std::nullopt, {init}, {rows}, {scan_s, scan_y}, scan_body.id(),
             scan_attrs());
  p.add_if("If", c, {x}, {last}, {nz}, then_p.id(), else_p.id());
  p.add_builtin("split", Builtin::SPLIT_TO_SEQUENCE, {x}, {split});
  p.add_sequence_map("Map", {split}, {mapped}, map_body.id());
  p.add_builtin("concat", Builtin::CONCAT_FROM_SEQUENCE, {mapped}, {cat});
  p.add_builtin("at", Builtin::SEQUENCE_AT, {pieces, pos}, {at});
  p.add_builtin("wrap", Builtin::OPTIONAL, {pieces}, {opt});
}

TEST(RuntimeBadInput, CorruptControlFlowProgramsLoadAndRunSafely) {
  corrupt_and_run(build_control_flow_model, {0, 1, 0, 2, 3, 0, 0, 4}, 0, 3, {0x01, 0x04, 0x80},
                  "control-flow copies");
}

TEST(RuntimeBadInput, CorruptElfNeverCrashesTheLoader) {
  // CODE flipped with valid checksums: headers, dynamic section, symbols and relocations are
  // in the first pages; the rest is sampled. Loading maps and relocates but runs nothing.
  std::vector<uint8_t> bytes = smoke_bytes();
  eave_section_entry code = section(bytes, EAVE_SECTION_CODE);
  int rejected = 0;
  for (size_t i = 0; i < code.size; i += (i < 4096 ? 1 : 7))
    for (uint8_t flip : {0x01, 0x80}) {
      std::vector<uint8_t> bad = bytes;
      bad[code.offset + i] ^= flip;
      rehash(bad);
      eave_status st = load(bad);
      rejected += st != nullptr;
      eave_status_release(st);
    }
  EXPECT_GT(rejected, 0);
}

// Applies `edit` to the PROGRAM section's tables, fixes the checksums and loads.
eave_status load_edited(const std::function<void(uint8_t* base, eave_program_section&)>& edit) {
  std::vector<uint8_t> bytes = smoke_bytes();
  eave_section_entry p = section(bytes, EAVE_SECTION_PROGRAM);
  uint8_t* base = bytes.data() + p.offset;
  eave_program_section ps;
  std::memcpy(&ps, base, sizeof ps);
  edit(base, ps);
  std::memcpy(base, &ps, sizeof ps);
  rehash(bytes);
  return load(bytes);
}

template <class T>
T* table(uint8_t* base, const eave_program_section& ps, eave_table_kind kind) {
  return reinterpret_cast<T*>(base + ps.tables[kind].offset);
}

TEST(RuntimeBadInput, CorruptProgramFieldsAreNamed) {
  EXPECT_TRUE(Fails(load_edited([](uint8_t* b, eave_program_section& ps) {
                      table<eave_value>(b, ps, EAVE_TABLE_VALUES)[0].storage = 99;
                    }),
                    EAVE_STATUS_INVALID_ARTIFACT, "value 0 'x': unknown storage kind 99"));
  EXPECT_TRUE(Fails(load_edited([](uint8_t* b, eave_program_section& ps) {
                      table<int32_t>(b, ps, EAVE_TABLE_OPERANDS)[0] = 1000;
                    }),
                    EAVE_STATUS_INVALID_ARTIFACT, "step 0 'add_exp': operand 0"));
  EXPECT_TRUE(Fails(load_edited([](uint8_t* b, eave_program_section& ps) {
                      table<eave_step>(b, ps, EAVE_TABLE_STEPS)[1].id = 77;
                    }),
                    EAVE_STATUS_INVALID_ARTIFACT, "kernel 77, but CODE has 6 kernels"));
  EXPECT_TRUE(Fails(load_edited([](uint8_t* b, eave_program_section& ps) {
                      table<uint8_t>(b, ps, EAVE_TABLE_CODE)[0] = 0xee;
                    }),
                    EAVE_STATUS_INVALID_ARTIFACT, "symbol 1 'batch*16': bad expression"));
  EXPECT_TRUE(Fails(load_edited([](uint8_t* b, eave_program_section& ps) {
                      table<eave_value>(b, ps, EAVE_TABLE_VALUES)[2].offset = 1 << 20;
                    }),
                    EAVE_STATUS_INVALID_ARTIFACT, "value 2 'y': ARENA offset 1048576"));
  EXPECT_TRUE(Fails(load_edited([](uint8_t* b, eave_program_section& ps) {
                      ps.tables[EAVE_TABLE_DIMS].count = 1u << 30;
                    }),
                    EAVE_STATUS_INVALID_ARTIFACT, "table DIMS"));
  // A kernel writing into a weight would fault on a read-only mapping.
  EXPECT_TRUE(Fails(load_edited([](uint8_t* b, eave_program_section& ps) {
                      table<int32_t>(b, ps, EAVE_TABLE_OPERANDS)[2] = 1;  // add_exp's output := b
                    }),
                    EAVE_STATUS_INVALID_ARTIFACT, "would write into a weight"));
}

std::vector<uint8_t> smoke_with(const Target& target, const std::vector<uint8_t>& code) {
  ArtifactWriter w;
  w.set_target(target);
  w.set_code(code);
  build_smoke_model(w);
  return w.bytes();
}

const char* other_arch() { return std::string(EAVE_HOST_ARCH) == "aarch64" ? "x86_64" : "aarch64"; }

TEST(RuntimeBadInput, WrongArchitecture) {
  std::string other = other_arch();
  EXPECT_TRUE(Fails(
      load(smoke_with(target_for(other), read_file(kernel_library_path("test_kernels_" + other)))),
      EAVE_STATUS_UNSUPPORTED,
      "artifact is compiled for " + std::string(other == "x86_64" ? "x86-64" : other)));
  // The TARGET says host, but the ELF inside is for another machine.
  EXPECT_TRUE(Fails(load(smoke_with(target_for(EAVE_HOST_ARCH),
                                    read_file(kernel_library_path("test_kernels_" + other)))),
                    EAVE_STATUS_UNSUPPORTED, "CODE: ELF e_machine"));
}

TEST(RuntimeBadInput, MissingAndUnknownCpuFeatures) {
  eave_cpu_info cpu;
  eave_cpu_detect(&cpu);
  Target t = target_for(EAVE_HOST_ARCH);
  t.features.push_back("warp-drive");
  EXPECT_TRUE(Fails(load(smoke_with(t, host_kernels())), EAVE_STATUS_UNSUPPORTED,
                    "requires CPU feature 'warp-drive', which this runtime does not know"));
  const char* missing = nullptr;
  // Features no single current CPU has all of (Zen 4/5 lack avx512fp16, Sapphire Rapids
  // lacks avx512vp2intersect), so one is missing wherever this runs.
  for (const char* f : {"avx512fp16", "avx512vp2intersect", "avx512bf16", "avx512f", "avx2", "sve2",
                        "sve", "i8mm", "v"})
    if (int i = eave_cpu_feature_find(cpu.arch, f); i >= 0 && !cpu.has[i]) missing = f;
  if (!missing) GTEST_SKIP() << "this CPU has every feature the test knows to ask for";
  t = target_for(EAVE_HOST_ARCH);
  t.features.push_back(missing);
  EXPECT_TRUE(Fails(load(smoke_with(t, host_kernels())), EAVE_STATUS_UNSUPPORTED,
                    std::string("requires CPU feature '") + missing + "'"));
}

TEST(RuntimeBadInput, UnknownImportIsNamed) {
  std::string name = std::string("bad_import_") + EAVE_HOST_ARCH;
  EXPECT_TRUE(
      Fails(load(smoke_with(target_for(EAVE_HOST_ARCH), read_file(kernel_library_path(name)))),
            EAVE_STATUS_UNSUPPORTED,
            "imports 'eave_test_missing_import', which the runtime does not provide"));
}

TEST(RuntimeBadInput, CodeThatIsNotElf) {
  std::vector<uint8_t> junk(200, 0x42);
  EXPECT_TRUE(Fails(load(smoke_with(target_for(EAVE_HOST_ARCH), junk)),
                    EAVE_STATUS_INVALID_ARTIFACT, "CODE: not an ELF file"));
  std::vector<uint8_t> elf = host_kernels();
  elf.resize(100);  // header intact, program headers cut off
  EXPECT_TRUE(Fails(load(smoke_with(target_for(EAVE_HOST_ARCH), elf)), EAVE_STATUS_INVALID_ARTIFACT,
                    "program headers out of bounds"));
}

class Inputs : public ::testing::Test {
 protected:
  void SetUp() override {
    ArtifactWriter w;
    init_host_writer(w);
    SymbolId n = w.add_dim_symbol("n", {1, 8}, 2);
    ProgramBuilder& p = w.main();
    ValueId a = p.add_input("a", EAVE_DTYPE_F32, {Dim::sym(n), 16});
    ValueId b = p.add_input("b", EAVE_DTYPE_F32, {Dim::sym(n), 16});
    ValueId y = p.add_output("y", EAVE_DTYPE_F32, {Dim::sym(n), 16});
    SymbolId rows = w.add_expr_symbol("rows", Expr::sym(n) * 1, {1, 4});
    p.add_kernel("add_exp", kAddExpRows, Dim::sym(rows), {a, b}, {y});
    ASSERT_TRUE(Ok(load_bytes(w.bytes(), &model_)));
    eave_session* s = nullptr;
    ASSERT_TRUE(Ok(eave_session_create(model_.get(), nullptr, &s)));
    session_.reset(s);
  }
  ModelPtr model_;
  SessionPtr session_;
  std::vector<float> data_ = std::vector<float>(10 * 16, 1.0f);
};

TEST_F(Inputs, WrongIndexNameDtypeRankDimAndSize) {
  eave_session* s = session_.get();
  int32_t index;
  EXPECT_TRUE(Fails(eave_model_find_input(model_.get(), "c", &index), EAVE_STATUS_NOT_FOUND,
                    "no input 'c' (its inputs: 'a', 'b')"));
  EXPECT_TRUE(Fails(bind_f32(s, 2, data_, {2, 16}), EAVE_STATUS_INVALID_ARGUMENT,
                    "index 2 out of range (the model has 2 inputs)"));
  int64_t dims[2] = {2, 16};
  eave_tensor t{EAVE_DTYPE_I32, 2, dims, data_.data(), data_.size() * 4};
  EXPECT_TRUE(Fails(eave_session_bind_input(s, 0, &t), EAVE_STATUS_INVALID_ARGUMENT,
                    "input 'a' is f32, got i32"));
  EXPECT_TRUE(Fails(bind_f32(s, 0, data_, {32}), EAVE_STATUS_INVALID_ARGUMENT,
                    "input 'a' has rank 2, got rank 1"));
  EXPECT_TRUE(Fails(bind_f32(s, 0, data_, {2, 8}), EAVE_STATUS_INVALID_ARGUMENT,
                    "input 'a' axis 1 is 16, got 8"));
  EXPECT_TRUE(Fails(bind_f32(s, 0, data_, {9, 16}), EAVE_STATUS_INVALID_ARGUMENT,
                    "input 'a' axis 0 is 9, outside the bounds [1, 8] of symbol 'n'"));
  t = {EAVE_DTYPE_F32, 2, dims, data_.data(), 2 * 16 * 4 - 1};
  EXPECT_TRUE(Fails(eave_session_bind_input(s, 0, &t), EAVE_STATUS_INVALID_ARGUMENT,
                    "input 'a' needs 128 bytes for its shape, got 127"));
}

TEST_F(Inputs, UnboundAndDisagreeingInputs) {
  eave_session* s = session_.get();
  ASSERT_TRUE(Ok(bind_f32(s, 0, data_, {2, 16})));
  EXPECT_TRUE(
      Fails(eave_session_run(s), EAVE_STATUS_FAILED_PRECONDITION, "input 'b' is not bound"));
  ASSERT_TRUE(Ok(bind_f32(s, 1, data_, {3, 16})));
  EXPECT_TRUE(Fails(eave_session_run(s), EAVE_STATUS_RUN_ERROR,
                    "input 'b' axis 0 is 3, but symbol 'n' is 2 (set by input 'a' axis 0)"));
  // An expression symbol out of its bounds is a run error that names it.
  ASSERT_TRUE(Ok(bind_f32(s, 0, data_, {5, 16})));
  ASSERT_TRUE(Ok(bind_f32(s, 1, data_, {5, 16})));
  EXPECT_TRUE(Fails(eave_session_run(s), EAVE_STATUS_RUN_ERROR,
                    "symbol 'rows' = 5 is outside its bounds [1, 4]"));
  ASSERT_TRUE(Ok(bind_f32(s, 0, data_, {4, 16})));
  ASSERT_TRUE(Ok(bind_f32(s, 1, data_, {4, 16})));
  EXPECT_TRUE(Ok(eave_session_run(s)));  // the session stays usable
  EXPECT_TRUE(
      Fails(eave_session_get_output(s, 5, nullptr), EAVE_STATUS_INVALID_ARGUMENT, "null argument"));
}

TEST_F(Inputs, OutputBufferTooSmall) {
  eave_session* s = session_.get();
  ASSERT_TRUE(Ok(bind_f32(s, 0, data_, {2, 16})));
  ASSERT_TRUE(Ok(bind_f32(s, 1, data_, {2, 16})));
  std::vector<float> out(20);
  ASSERT_TRUE(Ok(eave_session_bind_output(s, 0, out.data(), out.size() * 4)));
  EXPECT_TRUE(Fails(eave_session_run(s), EAVE_STATUS_RUN_ERROR,
                    "output 'y' needs 128 bytes, but its buffer has 80"));
  ASSERT_TRUE(Ok(eave_session_bind_output(s, 0, nullptr, 0)));
  EXPECT_TRUE(Ok(eave_session_run(s)));
}

TEST(RuntimeBadInput, OutOfMemoryIsAStatus) {
  ArtifactWriter w;
  init_host_writer(w);
  build_smoke_model(w);
  std::vector<uint8_t> bytes = w.bytes();
  CountingAllocator counter;
  counter.budget = 0;
  eave_model_options mo;
  eave_model_options_initialize(&mo);
  mo.allocator = counter.get();
  ModelPtr m;
  EXPECT_TRUE(Fails(load_bytes(bytes, &m, &mo), EAVE_STATUS_OUT_OF_MEMORY, "out of memory"));
  counter.budget = UINT64_MAX;
  ASSERT_TRUE(Ok(load_bytes(bytes, &m, &mo)));

  CountingAllocator session_counter;
  eave_session_options so;
  eave_session_options_initialize(&so);
  so.allocator = session_counter.get();
  session_counter.budget = 16;
  eave_session* s = nullptr;
  EXPECT_TRUE(Fails(eave_session_create(m.get(), &so, &s), EAVE_STATUS_OUT_OF_MEMORY,
                    "creating a session"));
  session_counter.budget = UINT64_MAX;
  ASSERT_TRUE(Ok(eave_session_create(m.get(), &so, &s)));
  SessionPtr session(s);
  session_counter.budget = session_counter.live_bytes + 100;  // no room for the arena
  std::vector<float> x(64 * 16, 0.5f);
  ASSERT_TRUE(Ok(bind_f32(s, 0, x, {64, 16})));
  EXPECT_TRUE(Fails(eave_session_run(s), EAVE_STATUS_OUT_OF_MEMORY,
                    "the activation arena needs 4096 bytes"));
  session_counter.budget = UINT64_MAX;
  EXPECT_TRUE(Ok(eave_session_run(s)));
}

}  // namespace
}  // namespace eave::testing
