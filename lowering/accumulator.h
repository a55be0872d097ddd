// The accumulators of a reduction kernel and the schedules that make them its inner loop.
//
// acc[j] = step(acc[j], x[i, j], extra[j]...) over the steps i of a strided block of the input
// is stated as linalg.generic ops (i a reduction, j parallel) into a stack buffer of
// accumulators, and transform-dialect schedules turn them into loops that carry the
// accumulators in registers:
//   reduce_steps              a block of known width: i tiled by 1, each step vectorized,
//                             the buffer's transfers hoisted out of the loop. Whole vectors
//                             of the block are one op over [steps, vectors, lanes] (each
//                             accumulator a register; LLVM scalarizes vectors of odd
//                             lengths such as 48 lanes), the rest of a vector another;
//   reduce_steps_masked_w<W>  a width known only at run time (at most W): the same with a
//                             mask of W lanes (the buffer is then read and written each step).
// The step must end in the combining op (add, mul, max, min, and, or) of the accumulator and
// a value: that is how vectorization recognizes the reduction.
#pragma once

#include <functional>

#include "lowering/kernel_builder.h"

namespace eave::lowering {

// x[offset + i·stride + j], i in [0, steps), j in [0, width) of the flat buffer `buffer`.
struct StridedBlock {
  mlir::Value buffer;
  mlir::OpFoldResult offset, steps, stride, width;
};

class Accumulator {
 public:
  // `vectors` x `lanes` accumulators of `elem` on the kernel's stack.
  Accumulator(KernelBuilder& kb, mlir::Type elem, int64_t vectors, int64_t lanes);

  // The accumulators from `vectors` (one per vector of lanes) and back.
  void set(llvm::ArrayRef<mlir::Value> vectors);
  llvm::SmallVector<mlir::Value> get();

  // Builds the step's body with kb.b() (its insertion point in the generic's body): x is an
  // element of the block, extra the element of each extra accumulator at the same column,
  // acc the accumulator.
  using Step = std::function<mlir::Value(mlir::Value x, mlir::ValueRange extra, mlir::Value acc)>;
  // Reduces the block (width at most vectors·lanes) into acc[0, width); `extra` are other
  // accumulators of the same shape, read (not written) at the block's columns.
  void accumulate(const StridedBlock& x, llvm::ArrayRef<const Accumulator*> extra,
                  const Step& step);

 private:
  // One generic: x viewed as `x_view`, the accumulators as `acc_view` of each accumulator
  // (the same view of every buffer), `rank` the view's dims after the steps.
  void generic(mlir::Value x_view, llvm::ArrayRef<const Accumulator*> extra,
               const std::function<mlir::Value(mlir::Value buffer)>& acc_view,
               const std::string& schedule, int64_t masked_width, const Step& step);

  KernelBuilder& kb_;
  mlir::Value buf_;  // [vectors, lanes]
  int64_t vectors_, lanes_;
};

}  // namespace eave::lowering
