// The accumulators of a reduction kernel and the schedules that make them its inner loop.
//
// acc[j] = step(acc[j], x[i, j], extra[j]...) over the steps i of a strided [steps, w] block of
// the input is stated as a linalg.generic (i a reduction, j parallel) into a stack buffer of
// accumulators, and one of two transform-dialect schedules turns it into a loop that carries
// the accumulators in registers:
//   reduce_steps              w static: i tiled by 1, each [1, w] step vectorized, the
//                             buffer's transfers hoisted out of the loop;
//   reduce_steps_masked_w<W>  w known only at run time (at most W): the same with a mask of W
//                             lanes (the buffer is then read and written each step).
// The step must end in the combining op (add, mul, max, min, and, or) of the accumulator and
// a value: that is how vectorization recognizes the reduction.
#pragma once

#include <functional>

#include "lowering/kernel_builder.h"

namespace eave::lowering {

class Accumulator {
 public:
  // `width` accumulators of `elem` on the kernel's stack.
  Accumulator(KernelBuilder& kb, mlir::Type elem, int64_t width);

  // acc[u·lanes, (u+1)·lanes) = vectors[u] (the same number of lanes each).
  void set(llvm::ArrayRef<mlir::Value> vectors);
  // The accumulators as width / lanes vectors of `lanes`.
  llvm::SmallVector<mlir::Value> get(int64_t lanes);
  // acc[0, w) as a memref: an `extra` operand of another accumulation.
  mlir::Value view(mlir::OpFoldResult w);

  // Builds the step's body with kb.b() (its insertion point in the generic's body): x is an
  // element of the block, extra one element of each extra operand, acc the accumulator.
  using Step = std::function<mlir::Value(mlir::Value x, mlir::ValueRange extra, mlir::Value acc)>;
  // Reduces the [steps, w] memref `x` (w at most width) into acc[0, w); each of `extra` is a
  // [w] memref read along j.
  void accumulate(mlir::Value x, mlir::ValueRange extra, const Step& step);

 private:
  KernelBuilder& kb_;
  mlir::Value buf_;
  int64_t width_;
};

}  // namespace eave::lowering
