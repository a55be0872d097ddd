// Small artifacts built with the artifact writer over the hand-written kernels of
// kernels/test_kernels.c, shared by the runtime tests, the cross-target smoke test and the
// examples' smoke tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/artifact_writer.h"

namespace eave::testing {

// Indices into kernels/test_kernels.c's table.
enum Kernel : uint32_t {
  kAddExpRows = 0,   // a [n,16], b [16] -> exp(a) + b, a tile per row
  kScale2 = 1,       // 2 * x, a tile per element
  kNegate = 2,       // -x, a tile per element
  kRoundToHalf = 3,  // (float)(_Float16)x, a tile per element
  kAddSymbol0 = 4,   // x + syms[0], a tile per element
  kAdd = 5,          // a + b, a tile per element
};

std::vector<uint8_t> read_file(const std::string& path);

// The target description for an architecture ("x86_64", "aarch64", "riscv64").
artifact::Target target_for(const std::string& arch);

// The smoke model: x f32 [batch, 16] (batch in [1, 64]) -> y = exp(x) + b (arena) ->
// z = 2 * y (output "z"). b[c] = 0.5 * c is a weight. The expected output is
// 2 * (exp(x) + 0.5 * c).
void build_smoke_model(artifact::ArtifactWriter& w);

// x f32 [batch, 16] -> t1 = 2x -> t2 = -t1 -> t3 = 2 t2 -> z = t3 + batch: three arena
// values, of which t1 and t3 can share memory.
void build_chain_model(artifact::ArtifactWriter& w);

// Inputs cond (bool scalar) and x f32 [n, 16]; y = IF cond THEN 2x ELSE -x.
void build_if_model(artifact::ArtifactWriter& w);

}  // namespace eave::testing
