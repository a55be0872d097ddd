// Graph passes: each rewrites a model in place, keeps the types of the values it creates up to
// date, and leaves the IR valid (tests verify after each). One pass per file, named for what it
// rewrites. The compile pipeline (compiler/pipeline.cc) runs them in a readable list.
#pragma once

#include "ir/graph.h"

namespace eave {

// Evaluates nodes whose inputs are all constants with the reference kernels (and small integer
// tensors whose values shape inference already knows), replacing them by constants.
size_t fold_constants(Model& m);  // returns how many nodes it folded
// Replaces each If whose condition is a constant, or whose other branch cannot run with the
// inferred shapes, by the nodes of the branch it always takes. Returns whether any was replaced;
// shapes and constants are then worth inferring and folding again.
bool inline_constant_if(Model& m);
// Rewrites ConvTranspose whose kernel tiles the output (strides equal to the kernel, no padding)
// as a MatMul and a rearrangement of its result.
void decompose_conv_transpose(Model& m);
// Removes nodes whose outputs nothing uses, and values nothing refers to.
void eliminate_dead_code(Model& m);
// Merges nodes that compute the same thing from the same inputs, and identical constants.
void eliminate_common_subexpressions(Model& m);
// Local simplifications: drops Identity, inference Dropout and no-op Cast/Transpose/Expand,
// merges Reshape and Transpose chains, and turns statically shaped Flatten/Squeeze/Unsqueeze
// into Reshape.
void canonicalize(Model& m);
// Folds inference BatchNormalization into the weights of a preceding Conv, ConvTranspose or
// Gemm; rewrites any other into a per-channel Mul and Add that later fusion absorbs.
void fold_batchnorm(Model& m);
// Recognizes the decomposed LayerNorm subgraph (mean, center, variance, rsqrt, scale, shift)
// and replaces it by one LayerNormalization.
void recognize_layernorm(Model& m);
// Recognizes GELU written with Erf or with the tanh approximation and replaces it by one Gelu.
void recognize_gelu(Model& m);
// Recognizes softmax written as Exp(x - max) / ReduceSum and replaces it by one Softmax.
void recognize_softmax(Model& m);

}  // namespace eave
