// The profiling hook of the public API (eave_session_options.on_step): every step is
// bracketed by BEGIN and END in order, nested programs inside their step, with the bytes of
// the step's operands; without a callback nothing is reported.
#include <string>
#include <vector>

#include "tests/runtime/runtime_test_util.h"

namespace eave::testing {
namespace {

using namespace artifact;

struct Recorded {
  eave_step_phase phase;
  int32_t program, step, depth;
  std::string name, kind;
  uint64_t bytes;
};

void record(void* user, const eave_step_event* e) {
  static_cast<std::vector<Recorded>*>(user)->push_back(
      {e->phase, e->program, e->step, e->depth, e->name, e->kind, e->bytes});
}

ModelPtr host_model(void (*build)(ArtifactWriter&)) {
  ArtifactWriter w;
  init_host_writer(w);
  build(w);
  ModelPtr m;
  EXPECT_TRUE(Ok(load_bytes(w.bytes(), &m)));
  return m;
}

SessionPtr profiled_session(eave_model* m, std::vector<Recorded>* events) {
  eave_session_options o;
  eave_session_options_initialize(&o);
  EXPECT_EQ(o.on_step, nullptr);  // off by default
  o.on_step = record;
  o.on_step_user_data = events;
  o.threads = 2;
  eave_session* s = nullptr;
  EXPECT_TRUE(Ok(eave_session_create(m, &o, &s)));
  return SessionPtr(s);
}

TEST(RuntimeProfiling, EveryStepIsBracketedInOrderWithItsOperandBytes) {
  ModelPtr m = host_model(build_chain_model);
  std::vector<Recorded> events;
  SessionPtr s = profiled_session(m.get(), &events);
  std::vector<float> x(3 * 16, 1.0f);
  ASSERT_TRUE(Ok(bind_f32(s.get(), 0, x, {3, 16})));
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  const char* names[] = {"scale_a", "negate", "scale_b", "add_batch"};
  ASSERT_EQ(events.size(), 8u);
  for (int k = 0; k < 4; ++k) {
    const Recorded& b = events[2 * k];
    const Recorded& e = events[2 * k + 1];
    EXPECT_EQ(b.phase, EAVE_STEP_BEGIN);
    EXPECT_EQ(e.phase, EAVE_STEP_END);
    EXPECT_EQ(b.name, names[k]);
    EXPECT_EQ(e.name, names[k]);
    EXPECT_EQ(e.kind, "kernel");
    EXPECT_EQ(e.program, 0);
    EXPECT_EQ(e.step, k);
    EXPECT_EQ(e.depth, 0);
    EXPECT_EQ(b.bytes, 0u);
    EXPECT_EQ(e.bytes, 2u * 3 * 16 * sizeof(float));  // one input and one output of [3,16]
  }
  // A second run reports again (the hook is per run, not per session).
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  EXPECT_EQ(events.size(), 16u);
}

TEST(RuntimeProfiling, NestedProgramStepsAreInsideTheirControlFlowStep) {
  ModelPtr m = host_model(build_if_model);
  std::vector<Recorded> events;
  SessionPtr s = profiled_session(m.get(), &events);
  std::vector<float> x(2 * 16, 1.0f);
  ASSERT_TRUE(Ok(bind_f32(s.get(), 1, x, {2, 16})));
  uint8_t cond = 0;
  eave_tensor t{EAVE_DTYPE_BOOL, 0, nullptr, &cond, 1};
  ASSERT_TRUE(Ok(eave_session_bind_input(s.get(), 0, &t)));
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].name, "If_0");
  EXPECT_EQ(events[0].kind, "if");
  EXPECT_EQ(events[1].name, "negate");  // the else branch
  EXPECT_EQ(events[1].depth, 1);
  EXPECT_NE(events[1].program, 0);
  EXPECT_EQ(events[2].phase, EAVE_STEP_END);
  EXPECT_EQ(events[2].name, "negate");
  EXPECT_EQ(events[3].phase, EAVE_STEP_END);
  EXPECT_EQ(events[3].name, "If_0");
  // cond, x for each branch (format v2 passes then- and else-inputs separately) and y.
  EXPECT_EQ(events[3].bytes, 1u + 3u * (2 * 16 * sizeof(float)));
}

}  // namespace
}  // namespace eave::testing
