// C++ convenience over the runtime's public C API, for the CLI tools and tests: load an
// artifact, run it on eave::Tensor inputs, get Tensors back. Statuses become eave::Error.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "eave/runtime.h"
#include "ir/tensor.h"
#include "ir/value_data.h"

namespace eave {

// Throws Error(prefix + message) if `s` is not OK (and releases it).
void check_status(eave_status s, const std::string& prefix = "");

class RuntimeModel {
 public:
  static std::shared_ptr<RuntimeModel> load_file(const std::string& path);
  static std::shared_ptr<RuntimeModel> load_memory(std::vector<uint8_t> bytes);
  ~RuntimeModel();
  eave_model* get() const { return model_; }

  struct IoInfo {
    std::string name;
    DType dtype;
    std::vector<int64_t> dims;           // -1 for dynamic
    std::vector<std::string> symbols;    // name of each dynamic dim ("" for static)
  };
  std::vector<IoInfo> inputs() const;
  std::vector<IoInfo> outputs() const;

 private:
  eave_model* model_ = nullptr;
  std::vector<uint8_t> bytes_;  // backing store for load_memory (64-byte aligned copy inside)
  std::shared_ptr<void> aligned_;
};

class RuntimeSession {
 public:
  RuntimeSession(std::shared_ptr<RuntimeModel> model, int threads = 1);
  RuntimeSession(std::shared_ptr<RuntimeModel> model, const eave_session_options& options);
  ~RuntimeSession();
  RuntimeSession(const RuntimeSession&) = delete;
  RuntimeSession& operator=(const RuntimeSession&) = delete;

  // Binds inputs by name (every input must be given: an Error names a missing one), runs, and
  // returns copies of the outputs.
  std::vector<Tensor> run(const std::vector<std::pair<std::string, Tensor>>& inputs);
  // The same for models with sequence or optional inputs and outputs: a sequence input takes a
  // ValueData sequence, an optional one a tensor, a sequence or an empty optional (none).
  std::vector<ValueData> run_values(const std::vector<std::pair<std::string, ValueData>>& inputs);
  // Binds without running (for benchmarks: then call run_bound()).
  void bind(const std::vector<std::pair<std::string, Tensor>>& inputs);
  void run_bound();
  std::vector<Tensor> outputs();
  eave_session* get() const { return session_; }

 private:
  std::shared_ptr<RuntimeModel> model_;
  eave_session* session_ = nullptr;
  // The runtime's view of a bound tensor (string tensors: an array of pointers to the text).
  eave_tensor view_of(const Tensor& t);

  std::vector<Tensor> bound_;  // keeps bound input data alive
  std::vector<std::vector<const char*>> bound_strings_;  // the element pointers of string inputs
};

DType from_eave_dtype(eave_dtype t);

}  // namespace eave
