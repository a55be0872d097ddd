// Control flow, sequences and optionals in the runtime, through the public API: LOOP with
// stacked scan outputs and state that changes shape, symbols that a loop body redefines on
// every iteration, IF branches whose outputs have data-dependent shapes, SCAN in both forms,
// SEQUENCE_MAP, the sequence and optional builtins with list inputs and outputs, steady runs
// that allocate nothing, and the programs the loader rejects.
#include <cstring>
#include <memory>

#include "codegen/builtin_attrs.h"
#include "runtime/src/artifact_format.h"
#include "tests/runtime/runtime_test_util.h"

namespace eave::testing {
namespace {

using namespace artifact;
using artifact::Dim;

ModelPtr load_model(const ArtifactWriter& w) {
  ModelPtr m;
  EXPECT_TRUE(Ok(load_bytes(w.bytes(), &m)));
  return m;
}

eave_status load_status(const ArtifactWriter& w) {
  ModelPtr m;
  return load_bytes(w.bytes(), &m);
}

SessionPtr new_session(eave_model* m, const eave_allocator* alloc = nullptr) {
  eave_session_options o;
  eave_session_options_initialize(&o);
  if (alloc) o.allocator = *alloc;
  eave_session* s = nullptr;
  EXPECT_TRUE(Ok(eave_session_create(m, &o, &s)));
  return SessionPtr(s);
}

// An attribute blob as the compiler writes it for a node of opset `opset`.
std::vector<uint8_t> attrs(int64_t opset, const std::vector<std::pair<std::string, Attribute>>& a) {
  Model model;
  model.opsets[""] = opset;
  model.graph = std::make_shared<Graph>();
  model.graph->set_model(&model);
  Node* n = model.graph->add_node(OpKind::Scan, {}, {}, "scan");
  for (const auto& [name, value] : a) n->set_attr(name, value);
  return encode_builtin_attrs(*n);
}

template <class T>
eave_tensor tensor_of(eave_dtype dtype, std::vector<T>& data, const std::vector<int64_t>& dims) {
  return eave_tensor{dtype, int32_t(dims.size()), dims.data(), data.data(), data.size() * sizeof(T)};
}

eave_status bind_i64(eave_session* s, int32_t index, std::vector<int64_t>& data,
                     const std::vector<int64_t>& dims) {
  eave_tensor t = tensor_of(EAVE_DTYPE_I64, data, dims);
  return eave_session_bind_input(s, index, &t);
}

eave_status bind_scalar(eave_session* s, int32_t index, int64_t& v) {
  eave_tensor t{EAVE_DTYPE_I64, 0, nullptr, &v, 8};
  return eave_session_bind_input(s, index, &t);
}

template <class T>
std::vector<T> output_of(eave_session* s, int32_t index, std::vector<int64_t>* dims = nullptr) {
  eave_tensor t;
  EXPECT_TRUE(Ok(eave_session_get_output(s, index, &t)));
  if (dims) dims->assign(t.dims, t.dims + t.rank);
  const T* p = static_cast<const T*>(t.data);
  return std::vector<T>(p, p + t.byte_size / sizeof(T));
}

// Item `item` of list output `index`.
template <class T>
std::vector<T> item_of(eave_session* s, int32_t index, int32_t item,
                       std::vector<int64_t>* dims = nullptr) {
  eave_tensor t;
  EXPECT_TRUE(Ok(eave_session_get_output_item(s, index, item, &t)));
  if (dims) dims->assign(t.dims, t.dims + t.rank);
  const T* p = static_cast<const T*>(t.data);
  return std::vector<T>(p, p + t.byte_size / sizeof(T));
}

// ---- LOOP ---------------------------------------------------------------------------------

struct LoopIds {
  ValueId trips, x;
  ProgramId body;
};

// y, stacked = LOOP trips times { next = 2 state; element = state } from x.
LoopIds build_loop_with_scan(ArtifactWriter& w) {
  init_host_writer(w);
  ProgramBuilder& body = w.add_program("body");
  body.add_input("iter", EAVE_DTYPE_I64, {});
  ValueId cond = body.add_input("cond", EAVE_DTYPE_BOOL, {});
  ValueId state = body.add_input("state", EAVE_DTYPE_F32, {4});
  body.add_output_value(cond);
  ValueId next = body.add_output("next", EAVE_DTYPE_F32, {4});
  ValueId elem = body.add_output("elem", EAVE_DTYPE_F32, {4});
  body.add_kernel("double", kScale2, 4, {state}, {next});
  body.add_builtin("copy", Builtin::COPY, {state}, {elem});
  SymbolId trips_sym = w.add_runtime_symbol("trips", {0, 100});
  ProgramBuilder& p = w.main();
  ValueId trips = p.add_input("trips", EAVE_DTYPE_I64, {});
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {4});
  ValueId y = p.add_output("y", EAVE_DTYPE_F32, {4});
  ValueId stacked = p.add_output("stacked", EAVE_DTYPE_F32, {Dim::sym(trips_sym), 4});
  p.add_loop("Loop", trips, std::nullopt, {x}, {y, stacked}, body.id());
  return {trips, x, body.id()};
}

TEST(RuntimeControlFlow, LoopStacksScanOutputsOverADataDependentTripCount) {
  ArtifactWriter w;
  build_loop_with_scan(w);
  ModelPtr m = load_model(w);
  CountingAllocator counter;
  eave_allocator a = counter.get();
  SessionPtr s = new_session(m.get(), &a);
  std::vector<float> x = {1, -2, 0.5f, 3};
  ASSERT_TRUE(Ok(bind_f32(s.get(), 1, x, {4})));
  int64_t allocs = 0;
  for (int64_t n : {3, 0, 5, 5, 2}) {
    ASSERT_TRUE(Ok(bind_scalar(s.get(), 0, n)));
    ASSERT_TRUE(Ok(eave_session_run(s.get())));
    // Runs no larger than an earlier one reuse everything it grew.
    if (n == 5) allocs = counter.allocs;
    if (n == 2) EXPECT_EQ(counter.allocs, allocs) << "a smaller run allocated";
    std::vector<int64_t> dims;
    std::vector<float> y = output_f32(s.get(), 0);
    std::vector<float> stacked = output_f32(s.get(), 1, &dims);
    EXPECT_EQ(dims, (std::vector<int64_t>{n, 4}));
    for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y[i], x[i] * float(1 << n));
    ASSERT_EQ(stacked.size(), size_t(4 * n));
    for (int64_t t = 0; t < n; ++t)
      for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(stacked[t * 4 + i], x[i] * float(1 << t));
  }
}

// y, pieces = LOOP trips times from (x, []) {
//   next = ConcatFromSequence(SequenceInsert(SplitToSequence(t), t))   (twice as long)
//   pieces' = SequenceInsert(pieces, NonZero(t))                       (count varies) }
// The body's input dim and its RUNTIME symbols take new values on every iteration.
void build_growing_loop(ArtifactWriter& w) {
  init_host_writer(w);
  ProgramBuilder& body = w.add_program("body");
  SymbolId m = w.add_dim_symbol("m", {0, 1 << 20}, 4);
  SymbolId doubled = w.add_runtime_symbol("2m", {}, body.id());
  SymbolId count = w.add_runtime_symbol("nonzeros", {}, body.id());
  body.add_input("iter", EAVE_DTYPE_I64, {});
  ValueId cond = body.add_input("cond", EAVE_DTYPE_BOOL, {});
  ValueId t = body.add_input("t", EAVE_DTYPE_F32, {Dim::sym(m)});
  ValueId pieces = body.add_input("pieces", EAVE_DTYPE_I64, {}, EAVE_VALUE_SEQUENCE);
  body.add_output_value(cond);
  ValueId next = body.add_output("next", EAVE_DTYPE_F32, {Dim::sym(doubled)});
  ValueId pieces_next = body.add_output("pieces_next", EAVE_DTYPE_I64, {}, EAVE_VALUE_SEQUENCE);
  ValueId split = body.add_heap("split", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
  ValueId joined = body.add_heap("joined", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
  ValueId nz = body.add_heap("nz", EAVE_DTYPE_I64, {1, Dim::sym(count)});
  body.add_builtin("split", Builtin::SPLIT_TO_SEQUENCE, {t}, {split});
  body.add_builtin("insert", Builtin::SEQUENCE_INSERT, {split, t}, {joined});
  body.add_builtin("concat", Builtin::CONCAT_FROM_SEQUENCE, {joined}, {next});
  body.add_builtin("nonzero", Builtin::NONZERO, {t}, {nz});
  body.add_builtin("collect", Builtin::SEQUENCE_INSERT, {pieces, nz}, {pieces_next});
  SymbolId k = w.add_dim_symbol("k", {0, 64}, 3);
  SymbolId final_len = w.add_runtime_symbol("final_len");
  ProgramBuilder& p = w.main();
  ValueId trips = p.add_input("trips", EAVE_DTYPE_I64, {});
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {Dim::sym(k)});
  ValueId y = p.add_output("y", EAVE_DTYPE_F32, {Dim::sym(final_len)});
  ValueId collected = p.add_output("collected", EAVE_DTYPE_I64, {}, EAVE_VALUE_SEQUENCE);
  ValueId empty = p.add_heap("empty", EAVE_DTYPE_I64, {}, EAVE_VALUE_SEQUENCE);
  p.add_builtin("empty", Builtin::SEQUENCE_EMPTY, {}, {empty});
  p.add_loop("Loop", trips, std::nullopt, {x, empty}, {y, collected}, body.id());
}

TEST(RuntimeControlFlow, LoopStateChangesShapeAndBodySymbolsAreRedefinedEachIteration) {
  ArtifactWriter w;
  build_growing_loop(w);
  ModelPtr m = load_model(w);
  eave_tensor_info info;
  ASSERT_TRUE(Ok(eave_model_get_output(m.get(), 1, &info)));
  EXPECT_EQ(info.kind, EAVE_VALUE_SEQUENCE);
  EXPECT_EQ(info.dtype, EAVE_DTYPE_I64);
  CountingAllocator counter;
  eave_allocator a = counter.get();
  SessionPtr s = new_session(m.get(), &a);
  std::vector<float> x = {1, 0, 2};
  int64_t trips = 2;
  ASSERT_TRUE(Ok(bind_f32(s.get(), 1, x, {3})));
  ASSERT_TRUE(Ok(bind_scalar(s.get(), 0, trips)));
  int64_t allocs_after_first = 0;
  for (int run = 0; run < 3; ++run) {
    ASSERT_TRUE(Ok(eave_session_run(s.get())));
    if (run == 1) allocs_after_first = counter.allocs;
    if (run == 2) EXPECT_EQ(counter.allocs, allocs_after_first) << "a repeated run allocated";
    std::vector<int64_t> dims;
    std::vector<float> y = output_f32(s.get(), 0, &dims);
    ASSERT_EQ(dims, (std::vector<int64_t>{12}));
    for (int i = 0; i < 12; ++i) EXPECT_FLOAT_EQ(y[i], x[i % 3]);
    int32_t present = 0, count = 0;
    ASSERT_TRUE(Ok(eave_session_get_output_list(s.get(), 1, &present, &count)));
    EXPECT_EQ(present, 1);
    ASSERT_EQ(count, 2);
    EXPECT_EQ(item_of<int64_t>(s.get(), 1, 0, &dims), (std::vector<int64_t>{0, 2}));
    EXPECT_EQ(dims, (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(item_of<int64_t>(s.get(), 1, 1, &dims), (std::vector<int64_t>{0, 2, 3, 5}));
    EXPECT_EQ(dims, (std::vector<int64_t>{1, 4}));
  }
  trips = 0;
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  EXPECT_EQ(output_f32(s.get(), 0), x);
  int32_t present = 0, count = -1;
  ASSERT_TRUE(Ok(eave_session_get_output_list(s.get(), 1, &present, &count)));
  EXPECT_EQ(count, 0);
}

// ---- IF -----------------------------------------------------------------------------------

// y = IF c THEN NonZero(x) ELSE [[7, 8, 9]]: the output's length is known only after the
// branch ran.
void build_if_data_dependent(ArtifactWriter& w) {
  init_host_writer(w);
  ProgramBuilder& then_p = w.add_program("then");
  ProgramBuilder& else_p = w.add_program("else");
  SymbolId n = w.add_dim_symbol("n", {1, 64}, 4);
  SymbolId c_then = w.add_runtime_symbol("count", {}, then_p.id());
  SymbolId r = w.add_runtime_symbol("r");
  ValueId xin = then_p.add_input("x", EAVE_DTYPE_F32, {Dim::sym(n)});
  ValueId nz = then_p.add_output("nz", EAVE_DTYPE_I64, {1, Dim::sym(c_then)});
  then_p.add_builtin("nonzero", Builtin::NONZERO, {xin}, {nz});
  int64_t k[3] = {7, 8, 9};
  ValueId konst = else_p.add_weight("k", EAVE_DTYPE_I64, {1, 3},
                                    {reinterpret_cast<const uint8_t*>(k), sizeof k});
  else_p.add_output_value(konst);
  ProgramBuilder& p = w.main();
  ValueId c = p.add_input("c", EAVE_DTYPE_BOOL, {});
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {Dim::sym(n)});
  ValueId y = p.add_output("y", EAVE_DTYPE_I64, {1, Dim::sym(r)});
  p.add_if("If", c, {x}, {}, {y}, then_p.id(), else_p.id());
}

TEST(RuntimeControlFlow, IfBranchesGiveDataDependentShapes) {
  ArtifactWriter w;
  build_if_data_dependent(w);
  ModelPtr m = load_model(w);
  SessionPtr s = new_session(m.get());
  struct Case {
    uint8_t c;
    std::vector<float> x;
    std::vector<int64_t> y;
  };
  for (Case k : {Case{1, {0, 5, 0, 7}, {1, 3}}, Case{0, {1, 1}, {7, 8, 9}},
                 Case{1, {2, 2, 2, 0, 2}, {0, 1, 2, 4}}, Case{1, {0}, {}}}) {
    eave_tensor c{EAVE_DTYPE_BOOL, 0, nullptr, &k.c, 1};
    ASSERT_TRUE(Ok(eave_session_bind_input(s.get(), 0, &c)));
    ASSERT_TRUE(Ok(bind_f32(s.get(), 1, k.x, {int64_t(k.x.size())})));
    ASSERT_TRUE(Ok(eave_session_run(s.get())));
    std::vector<int64_t> dims;
    EXPECT_EQ(output_of<int64_t>(s.get(), 0, &dims), k.y);
    EXPECT_EQ(dims, (std::vector<int64_t>{1, int64_t(k.y.size())}));
  }
}

// ---- SCAN ---------------------------------------------------------------------------------

// The body of a running sum: s' = s + x, y = s'.
ProgramBuilder& running_sum_body(ArtifactWriter& w, int64_t width) {
  ProgramBuilder& body = w.add_program("body");
  ValueId s = body.add_input("s", EAVE_DTYPE_F32, {width});
  ValueId x = body.add_input("x", EAVE_DTYPE_F32, {width});
  ValueId next = body.add_arena("s_next", EAVE_DTYPE_F32, {width});
  body.add_output_value(next);
  body.add_output_value(next);
  body.add_kernel("add", kAdd, width, {s, x}, {next});
  return body;
}

TEST(RuntimeControlFlow, ScanRunsOverAnyAxisInEitherDirection) {
  // x [2, L] scanned along axis 1 from the back; y [2, L] stacked along axis 1, reversed.
  ArtifactWriter w;
  init_host_writer(w);
  ProgramBuilder& body = running_sum_body(w, 2);
  SymbolId L = w.add_dim_symbol("L", {0, 100}, 3);
  ProgramBuilder& p = w.main();
  ValueId init = p.add_input("init", EAVE_DTYPE_F32, {2});
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {2, Dim::sym(L)});
  ValueId final_s = p.add_output("final", EAVE_DTYPE_F32, {2});
  ValueId y = p.add_output("y", EAVE_DTYPE_F32, {2, Dim::sym(L)});
  std::vector<uint8_t> params =
      attrs(11, {{"num_scan_inputs", Attribute::of_int(1)},
                 {"scan_input_axes", Attribute::of_ints({1})},
                 {"scan_input_directions", Attribute::of_ints({1})},
                 {"scan_output_axes", Attribute::of_ints({-1})},
                 {"scan_output_directions", Attribute::of_ints({1})}});
  p.add_scan("Scan", std::nullopt, {init}, {x}, {final_s, y}, body.id(), params);
  ModelPtr m = load_model(w);
  CountingAllocator counter;
  eave_allocator a = counter.get();
  SessionPtr s = new_session(m.get(), &a);
  int64_t allocs = 0;
  for (int64_t len : {4, 1, 0, 4}) {
    std::vector<float> init_data = {10, 20};
    std::vector<float> xd(size_t(2 * len));
    for (size_t i = 0; i < xd.size(); ++i) xd[i] = float(i + 1);
    ASSERT_TRUE(Ok(bind_f32(s.get(), 0, init_data, {2})));
    ASSERT_TRUE(Ok(bind_f32(s.get(), 1, xd, {2, len})));
    ASSERT_TRUE(Ok(eave_session_run(s.get())));
    // Step t reads column L-1-t; element t lands in column L-1-t.
    std::vector<float> state = init_data, expect_y(size_t(2 * len));
    for (int64_t t = 0; t < len; ++t) {
      int64_t col = len - 1 - t;
      for (int r = 0; r < 2; ++r) {
        state[r] += xd[size_t(r * len + col)];
        expect_y[size_t(r * len + col)] = state[r];
      }
    }
    std::vector<int64_t> dims;
    EXPECT_EQ(output_f32(s.get(), 0), state);
    EXPECT_EQ(output_f32(s.get(), 1, &dims), expect_y);
    EXPECT_EQ(dims, (std::vector<int64_t>{2, len}));
    // The last run repeats the first: slices, state and stacks are reused.
    if (allocs) EXPECT_EQ(counter.allocs, allocs) << "a repeated run allocated";
    if (len == 0) allocs = counter.allocs;
  }
}

TEST(RuntimeControlFlow, ScanOpset8RunsEachBatchEntryForItsLength) {
  ArtifactWriter w;
  init_host_writer(w);
  ProgramBuilder& body = running_sum_body(w, 2);
  ProgramBuilder& p = w.main();
  ValueId lens = p.add_input("lens", EAVE_DTYPE_I64, {2});
  ValueId init = p.add_input("init", EAVE_DTYPE_F32, {2, 2});
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {2, 3, 2});
  ValueId final_s = p.add_output("final", EAVE_DTYPE_F32, {2, 2});
  ValueId y = p.add_output("y", EAVE_DTYPE_F32, {2, 3, 2});
  std::vector<uint8_t> params = attrs(8, {{"num_scan_inputs", Attribute::of_int(1)},
                                          {"directions", Attribute::of_ints({0})}});
  p.add_scan("Scan", lens, {init}, {x}, {final_s, y}, body.id(), params);
  ModelPtr m = load_model(w);
  SessionPtr s = new_session(m.get());
  std::vector<int64_t> lens_data = {3, 1};
  std::vector<float> init_data = {0, 0, 100, 200};
  std::vector<float> xd = {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60};
  ASSERT_TRUE(Ok(bind_i64(s.get(), 0, lens_data, {2})));
  ASSERT_TRUE(Ok(bind_f32(s.get(), 1, init_data, {2, 2})));
  ASSERT_TRUE(Ok(bind_f32(s.get(), 2, xd, {2, 3, 2})));
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  EXPECT_EQ(output_f32(s.get(), 0), (std::vector<float>{9, 12, 110, 220}));
  EXPECT_EQ(output_f32(s.get(), 1),
            (std::vector<float>{1, 2, 4, 6, 9, 12, 110, 220, 0, 0, 0, 0}));
  lens_data = {0, 4};
  EXPECT_TRUE(Fails(eave_session_run(s.get()), EAVE_STATUS_RUN_ERROR,
                    "sequence_lens[1] = 4 is outside [0, 3]"));
}

// ---- SEQUENCE_MAP ---------------------------------------------------------------------------

TEST(RuntimeControlFlow, SequenceMapRunsTheBodyOncePerElement) {
  // out[i] = a[i] + b[i] over two sequences of f32 vectors whose lengths differ per element.
  ArtifactWriter w;
  init_host_writer(w);
  ProgramBuilder& body = w.add_program("body");
  SymbolId n = w.add_dim_symbol("n", {0, 64}, 4);
  ValueId a = body.add_input("a", EAVE_DTYPE_F32, {Dim::sym(n)});
  ValueId b = body.add_input("b", EAVE_DTYPE_F32, {Dim::sym(n)});
  ValueId sum = body.add_output("sum", EAVE_DTYPE_F32, {Dim::sym(n)});
  body.add_kernel("add", kAdd, Dim::sym(n), {a, b}, {sum});
  ProgramBuilder& p = w.main();
  ValueId sa = p.add_input("a", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
  ValueId sb = p.add_input("b", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
  ValueId out = p.add_output("out", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
  p.add_sequence_map("SequenceMap", {sa, sb}, {out}, body.id());
  ModelPtr m = load_model(w);
  SessionPtr s = new_session(m.get());
  std::vector<float> a0 = {1, 2}, a1 = {3, 4, 5}, a2 = {}, b0 = {10, 20}, b1 = {30, 40, 50},
                     b2 = {};
  std::vector<int64_t> d0 = {2}, d1 = {3}, d2 = {0};
  eave_tensor as[3] = {tensor_of(EAVE_DTYPE_F32, a0, d0), tensor_of(EAVE_DTYPE_F32, a1, d1),
                       tensor_of(EAVE_DTYPE_F32, a2, d2)};
  eave_tensor bs[3] = {tensor_of(EAVE_DTYPE_F32, b0, d0), tensor_of(EAVE_DTYPE_F32, b1, d1),
                       tensor_of(EAVE_DTYPE_F32, b2, d2)};
  ASSERT_TRUE(Ok(eave_session_bind_input_list(s.get(), 0, 1, as, 3)));
  ASSERT_TRUE(Ok(eave_session_bind_input_list(s.get(), 1, 1, bs, 3)));
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  int32_t present = 0, count = 0;
  ASSERT_TRUE(Ok(eave_session_get_output_list(s.get(), 0, &present, &count)));
  ASSERT_EQ(count, 3);
  EXPECT_EQ(item_of<float>(s.get(), 0, 0), (std::vector<float>{11, 22}));
  EXPECT_EQ(item_of<float>(s.get(), 0, 1), (std::vector<float>{33, 44, 55}));
  std::vector<int64_t> dims;
  EXPECT_EQ(item_of<float>(s.get(), 0, 2, &dims), (std::vector<float>{}));
  EXPECT_EQ(dims, (std::vector<int64_t>{0}));
  // Sequences of different lengths are a run error.
  ASSERT_TRUE(Ok(eave_session_bind_input_list(s.get(), 1, 1, bs, 2)));
  EXPECT_TRUE(Fails(eave_session_run(s.get()), EAVE_STATUS_RUN_ERROR, "has 2 tensors, input 0 has 3"));
}

// ---- Sequence and optional builtins -----------------------------------------------------------

// Inputs: seq (sequence of i64), t (i64 [k]), pos (i64), opt (optional f32).
// Outputs: length, at, erased, has, wrapped, joined, pieces, got.
void build_sequence_ops(ArtifactWriter& w) {
  init_host_writer(w);
  SymbolId k = w.add_dim_symbol("k", {0, 64}, 4);
  SymbolId at_len = w.add_runtime_symbol("at_len");
  SymbolId joined_len = w.add_runtime_symbol("joined_len");
  SymbolId got_len = w.add_runtime_symbol("got_len");
  ProgramBuilder& p = w.main();
  ValueId seq = p.add_input("seq", EAVE_DTYPE_I64, {}, EAVE_VALUE_SEQUENCE);
  ValueId t = p.add_input("t", EAVE_DTYPE_I64, {Dim::sym(k)});
  ValueId pos = p.add_input("pos", EAVE_DTYPE_I64, {});
  ValueId opt = p.add_input("opt", EAVE_DTYPE_F32, {}, EAVE_VALUE_OPTIONAL_TENSOR);
  ValueId length = p.add_output("length", EAVE_DTYPE_I64, {});
  ValueId at = p.add_output("at", EAVE_DTYPE_I64, {Dim::sym(at_len)});
  ValueId erased = p.add_output("erased", EAVE_DTYPE_I64, {}, EAVE_VALUE_SEQUENCE);
  ValueId has = p.add_output("has", EAVE_DTYPE_BOOL, {});
  ValueId wrapped = p.add_output("wrapped", EAVE_DTYPE_I64, {}, EAVE_VALUE_OPTIONAL_TENSOR);
  ValueId joined = p.add_output("joined", EAVE_DTYPE_I64, {Dim::sym(joined_len)});
  ValueId pieces = p.add_output("pieces", EAVE_DTYPE_I64, {}, EAVE_VALUE_SEQUENCE);
  ValueId got = p.add_output("got", EAVE_DTYPE_F32, {Dim::sym(got_len)});
  ValueId inserted = p.add_heap("inserted", EAVE_DTYPE_I64, {}, EAVE_VALUE_SEQUENCE);
  int64_t two = 2;
  ValueId chunk = p.add_weight("two", EAVE_DTYPE_I64, {}, {reinterpret_cast<uint8_t*>(&two), 8});
  p.add_builtin("insert", Builtin::SEQUENCE_INSERT, {seq, t, pos}, {inserted});
  p.add_builtin("length", Builtin::SEQUENCE_LENGTH, {inserted}, {length});
  p.add_builtin("at", Builtin::SEQUENCE_AT, {inserted, pos}, {at});
  p.add_builtin("erase", Builtin::SEQUENCE_ERASE, {inserted, pos}, {erased});
  p.add_builtin("has", Builtin::OPTIONAL_HAS_ELEMENT, {opt}, {has});
  p.add_builtin("wrap", Builtin::OPTIONAL, {t}, {wrapped});
  p.add_builtin("concat", Builtin::CONCAT_FROM_SEQUENCE, {inserted}, {joined});
  p.add_builtin("split", Builtin::SPLIT_TO_SEQUENCE, {t, chunk}, {pieces});
  p.add_builtin("get", Builtin::OPTIONAL_GET_ELEMENT, {opt}, {got});
}

TEST(RuntimeControlFlow, SequenceAndOptionalBuiltins) {
  ArtifactWriter w;
  build_sequence_ops(w);
  ModelPtr m = load_model(w);
  SessionPtr s = new_session(m.get());
  std::vector<int64_t> e0 = {1, 2}, e1 = {3}, t = {7, 8, 9}, d0 = {2}, d1 = {1}, dt = {3};
  eave_tensor items[2] = {tensor_of(EAVE_DTYPE_I64, e0, d0), tensor_of(EAVE_DTYPE_I64, e1, d1)};
  std::vector<float> o = {0.5f, 1.5f};
  std::vector<int64_t> od = {2};
  eave_tensor opt = tensor_of(EAVE_DTYPE_F32, o, od);
  int64_t pos = -1;
  ASSERT_TRUE(Ok(eave_session_bind_input_list(s.get(), 0, 1, items, 2)));
  ASSERT_TRUE(Ok(bind_i64(s.get(), 1, t, dt)));
  ASSERT_TRUE(Ok(bind_scalar(s.get(), 2, pos)));
  ASSERT_TRUE(Ok(eave_session_bind_input_list(s.get(), 3, 1, &opt, 1)));
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  // Inserting at -1 puts t before the last element: [e0, t, e1].
  EXPECT_EQ(output_of<int64_t>(s.get(), 0), (std::vector<int64_t>{3}));
  EXPECT_EQ(output_of<int64_t>(s.get(), 1), (std::vector<int64_t>{3}));  // at -1: e1
  int32_t present = 0, count = 0;
  ASSERT_TRUE(Ok(eave_session_get_output_list(s.get(), 2, &present, &count)));
  ASSERT_EQ(count, 2);
  EXPECT_EQ(item_of<int64_t>(s.get(), 2, 0), e0);
  EXPECT_EQ(item_of<int64_t>(s.get(), 2, 1), t);
  EXPECT_EQ(output_of<uint8_t>(s.get(), 3), (std::vector<uint8_t>{1}));
  ASSERT_TRUE(Ok(eave_session_get_output_list(s.get(), 4, &present, &count)));
  EXPECT_EQ(present, 1);
  ASSERT_EQ(count, 1);
  EXPECT_EQ(item_of<int64_t>(s.get(), 4, 0), t);
  EXPECT_EQ(output_of<int64_t>(s.get(), 5), (std::vector<int64_t>{1, 2, 7, 8, 9, 3}));
  ASSERT_TRUE(Ok(eave_session_get_output_list(s.get(), 6, &present, &count)));
  ASSERT_EQ(count, 2);
  EXPECT_EQ(item_of<int64_t>(s.get(), 6, 0), (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(item_of<int64_t>(s.get(), 6, 1), (std::vector<int64_t>{9}));
  EXPECT_EQ(output_f32(s.get(), 7), o);

  // An empty optional: has is false, and getting its element is a run error.
  ASSERT_TRUE(Ok(eave_session_bind_input_list(s.get(), 3, 0, nullptr, 0)));
  EXPECT_TRUE(Fails(eave_session_run(s.get()), EAVE_STATUS_RUN_ERROR, "the input optional is empty"));
  // A position past the end.
  ASSERT_TRUE(Ok(eave_session_bind_input_list(s.get(), 3, 1, &opt, 1)));
  pos = 4;
  EXPECT_TRUE(Fails(eave_session_run(s.get()), EAVE_STATUS_RUN_ERROR,
                    "position 4 is out of range [-2, 2]"));
}

TEST(RuntimeControlFlow, ListInputsAndOutputsHaveTheirOwnCalls) {
  ArtifactWriter w;
  build_sequence_ops(w);
  ModelPtr m = load_model(w);
  SessionPtr s = new_session(m.get());
  eave_tensor_info info;
  ASSERT_TRUE(Ok(eave_model_get_input(m.get(), 3, &info)));
  EXPECT_EQ(info.kind, EAVE_VALUE_OPTIONAL_TENSOR);
  EXPECT_EQ(info.rank, 0);
  std::vector<int64_t> e = {1}, d = {1};
  eave_tensor t = tensor_of(EAVE_DTYPE_I64, e, d);
  EXPECT_TRUE(Fails(eave_session_bind_input(s.get(), 0, &t), EAVE_STATUS_INVALID_ARGUMENT,
                    "bind it with eave_session_bind_input_list"));
  EXPECT_TRUE(Fails(eave_session_bind_input_list(s.get(), 1, 1, &t, 1),
                    EAVE_STATUS_INVALID_ARGUMENT, "is a tensor"));
  EXPECT_TRUE(Fails(eave_session_bind_input_list(s.get(), 3, 1, &t, 1),
                    EAVE_STATUS_INVALID_ARGUMENT, "tensor 0 is i64, not f32"));
  EXPECT_TRUE(Fails(eave_session_bind_input_list(s.get(), 3, 1, nullptr, 0),
                    EAVE_STATUS_INVALID_ARGUMENT, "present takes one tensor"));
  EXPECT_TRUE(Fails(eave_session_bind_input_list(s.get(), 0, 0, nullptr, 0),
                    EAVE_STATUS_INVALID_ARGUMENT, "always present"));
  int64_t big_dims[1] = {4};
  eave_tensor short_data{EAVE_DTYPE_I64, 1, big_dims, e.data(), 8};
  EXPECT_TRUE(Fails(eave_session_bind_input_list(s.get(), 0, 1, &short_data, 1),
                    EAVE_STATUS_INVALID_ARGUMENT, "needs 32 bytes"));
  char buf[64];
  EXPECT_TRUE(Fails(eave_session_bind_output(s.get(), 2, buf, sizeof buf),
                    EAVE_STATUS_INVALID_ARGUMENT, "which the session always holds"));
  int32_t present, count;
  EXPECT_TRUE(Fails(eave_session_get_output_list(s.get(), 2, &present, &count),
                    EAVE_STATUS_FAILED_PRECONDITION, "run the session first"));
  EXPECT_TRUE(Fails(eave_session_get_output_list(s.get(), 0, &present, &count),
                    EAVE_STATUS_INVALID_ARGUMENT, "is a tensor"));
}

// ---- What the loader rejects ------------------------------------------------------------------

TEST(RuntimeControlFlow, LoaderRejectsMalformedNesting) {
  {  // One body run by two steps.
    ArtifactWriter w;
    LoopIds ids = build_loop_with_scan(w);
    ProgramBuilder& p = w.main();
    ValueId y2 = p.add_heap("y2", EAVE_DTYPE_F32, {4});
    p.add_loop("Loop2", ids.trips, std::nullopt, {ids.x}, {y2}, ids.body);
    EXPECT_TRUE(Fails(load_status(w), EAVE_STATUS_INVALID_ARTIFACT, "already run by another step"));
  }
  {  // A program no step runs.
    ArtifactWriter w;
    build_loop_with_scan(w);
    w.add_program("orphan");
    EXPECT_TRUE(Fails(load_status(w), EAVE_STATUS_INVALID_ARTIFACT, "is not run by any step"));
  }
  {  // The main program uses a symbol of the loop body, which lives only while the body runs.
    ArtifactWriter w;
    build_growing_loop(w);
    SymbolId inner = w.add_runtime_symbol("inner", {}, 1);
    w.main().add_heap("leak", EAVE_DTYPE_F32, {Dim::sym(inner)});
    EXPECT_TRUE(Fails(load_status(w), EAVE_STATUS_INVALID_ARTIFACT, "which does not enclose"));
  }
}

TEST(RuntimeControlFlow, LoaderRejectsMistypedControlFlow) {
  {  // A loop body whose condition output is not a bool scalar.
    ArtifactWriter w;
    init_host_writer(w);
    ProgramBuilder& body = w.add_program("body");
    body.add_input("iter", EAVE_DTYPE_I64, {});
    body.add_input("cond", EAVE_DTYPE_BOOL, {});
    ValueId s = body.add_input("s", EAVE_DTYPE_F32, {4});
    body.add_output_value(s);
    body.add_output_value(s);
    ProgramBuilder& p = w.main();
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {4});
    ValueId y = p.add_output("y", EAVE_DTYPE_F32, {4});
    p.add_loop("Loop", std::nullopt, std::nullopt, {x}, {y}, body.id());
    EXPECT_TRUE(Fails(load_status(w), EAVE_STATUS_INVALID_ARTIFACT, "gives a bool condition first"));
  }
  {  // A SCAN axis past the input's rank.
    ArtifactWriter w;
    init_host_writer(w);
    ProgramBuilder& body = running_sum_body(w, 2);
    ProgramBuilder& p = w.main();
    ValueId init = p.add_input("init", EAVE_DTYPE_F32, {2});
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {3, 2});
    ValueId f = p.add_output("final", EAVE_DTYPE_F32, {2});
    ValueId y = p.add_output("y", EAVE_DTYPE_F32, {3, 2});
    p.add_scan("Scan", std::nullopt, {init}, {x}, {f, y}, body.id(),
               attrs(11, {{"num_scan_inputs", Attribute::of_int(1)},
                          {"scan_input_axes", Attribute::of_ints({2})}}));
    EXPECT_TRUE(Fails(load_status(w), EAVE_STATUS_INVALID_ARTIFACT, "axis 2 or direction 0 out"));
  }
  {  // A sequence passed where the body takes a tensor.
    ArtifactWriter w;
    init_host_writer(w);
    ProgramBuilder& then_p = w.add_program("then");
    ProgramBuilder& else_p = w.add_program("else");
    for (ProgramBuilder* b : {&then_p, &else_p})
      b->add_output_value(b->add_input("in", EAVE_DTYPE_F32, {}));
    ProgramBuilder& p = w.main();
    ValueId c = p.add_input("c", EAVE_DTYPE_BOOL, {});
    ValueId seq = p.add_input("seq", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
    ValueId y = p.add_output("y", EAVE_DTYPE_F32, {});
    p.add_if("If", c, {seq}, {seq}, {y}, then_p.id(), else_p.id());
    EXPECT_TRUE(Fails(load_status(w), EAVE_STATUS_INVALID_ARTIFACT, "does not fit input 0"));
  }
  {  // A kernel step given a sequence.
    ArtifactWriter w;
    init_host_writer(w);
    ProgramBuilder& p = w.main();
    ValueId seq = p.add_input("seq", EAVE_DTYPE_F32, {}, EAVE_VALUE_SEQUENCE);
    ValueId y = p.add_output("y", EAVE_DTYPE_F32, {4});
    p.add_kernel("double", kScale2, 4, {seq}, {y});
    EXPECT_TRUE(Fails(load_status(w), EAVE_STATUS_INVALID_ARTIFACT,
                      "a kernel's operand 0 is a sequence or optional"));
  }
  {  // A builtin given a list where it takes a tensor.
    ArtifactWriter w;
    init_host_writer(w);
    ProgramBuilder& p = w.main();
    ValueId seq = p.add_input("seq", EAVE_DTYPE_I64, {}, EAVE_VALUE_SEQUENCE);
    ValueId y = p.add_output("y", EAVE_DTYPE_I64, {});
    p.add_builtin("copy", Builtin::COPY, {seq}, {y});
    EXPECT_TRUE(Fails(load_status(w), EAVE_STATUS_INVALID_ARTIFACT, "differ in dtype or kind"));
  }
}

}  // namespace
}  // namespace eave::testing
