#include "tools/runtime_session.h"

#include <cstdlib>
#include <cstring>

#include "compiler/emit_program.h"
#include "support/error.h"

namespace eave {

void check_status(eave_status s, const std::string& prefix) {
  if (!s) return;
  std::string msg = eave_status_get_message(s);
  eave_status_release(s);
  throw Error(prefix + msg);
}

DType from_eave_dtype(eave_dtype t) {
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I8, DType::U8,
                  DType::I16, DType::U16, DType::I32, DType::U32, DType::I64, DType::U64,
                  DType::Bool})
    if (to_eave_dtype(d) == t) return d;
  return DType::Undefined;
}

std::shared_ptr<RuntimeModel> RuntimeModel::load_file(const std::string& path) {
  auto m = std::shared_ptr<RuntimeModel>(new RuntimeModel());
  check_status(eave_model_load_file(path.c_str(), nullptr, &m->model_), "'" + path + "': ");
  return m;
}

std::shared_ptr<RuntimeModel> RuntimeModel::load_memory(std::vector<uint8_t> bytes) {
  auto m = std::shared_ptr<RuntimeModel>(new RuntimeModel());
  eave_model_options o;
  eave_model_options_initialize(&o);
  o.copy_memory = 1;
  check_status(eave_model_load_memory(bytes.data(), bytes.size(), &o, &m->model_));
  return m;
}

RuntimeModel::~RuntimeModel() { eave_model_release(model_); }

namespace {

std::vector<RuntimeModel::IoInfo> infos(eave_model* m, bool inputs) {
  std::vector<RuntimeModel::IoInfo> out;
  int32_t n = inputs ? eave_model_input_count(m) : eave_model_output_count(m);
  for (int32_t i = 0; i < n; ++i) {
    eave_tensor_info ti;
    check_status(inputs ? eave_model_get_input(m, i, &ti) : eave_model_get_output(m, i, &ti));
    RuntimeModel::IoInfo io{ti.name, from_eave_dtype(ti.dtype), {}, {}};
    for (int32_t d = 0; d < ti.rank; ++d) {
      io.dims.push_back(ti.dims[d]);
      io.symbols.push_back(ti.dim_symbols && ti.dim_symbols[d] ? ti.dim_symbols[d] : "");
    }
    out.push_back(std::move(io));
  }
  return out;
}

}  // namespace

std::vector<RuntimeModel::IoInfo> RuntimeModel::inputs() const { return infos(model_, true); }
std::vector<RuntimeModel::IoInfo> RuntimeModel::outputs() const { return infos(model_, false); }

namespace {

eave_session_options with_threads(int threads) {
  eave_session_options o;
  eave_session_options_initialize(&o);
  o.threads = threads;
  return o;
}

}  // namespace

RuntimeSession::RuntimeSession(std::shared_ptr<RuntimeModel> model, int threads)
    : RuntimeSession(std::move(model), with_threads(threads)) {}

RuntimeSession::RuntimeSession(std::shared_ptr<RuntimeModel> model,
                               const eave_session_options& options)
    : model_(std::move(model)) {
  check_status(eave_session_create(model_->get(), &options, &session_));
}

RuntimeSession::~RuntimeSession() { eave_session_release(session_); }

void RuntimeSession::bind(const std::vector<std::pair<std::string, Tensor>>& inputs) {
  bound_.clear();
  std::vector<bool> given(size_t(eave_model_input_count(model_->get())), false);
  for (const auto& [name, t0] : inputs) {
    int32_t index;
    check_status(eave_model_find_input(model_->get(), name.c_str(), &index));
    given[size_t(index)] = true;
    Tensor t = t0;
    eave_tensor et{to_eave_dtype(t.dtype()), int32_t(t.rank()), t.dims().data(),
                   const_cast<void*>(t.raw()), t.nbytes()};
    check_status(eave_session_bind_input(session_, index, &et));
    bound_.push_back(std::move(t));
  }
  // The same words as the Python API (python/src/runtime_module.cc).
  auto infos = model_->inputs();
  for (size_t i = 0; i < given.size(); ++i) {
    if (given[i]) continue;
    std::string names;
    for (const auto& io : infos) names += (names.empty() ? "'" : ", '") + io.name + "'";
    fail("missing input '", infos[i].name, "' (the model's inputs: ", names, ")");
  }
}

void RuntimeSession::run_bound() { check_status(eave_session_run(session_)); }

std::vector<Tensor> RuntimeSession::outputs() {
  std::vector<Tensor> out;
  int32_t n = eave_model_output_count(model_->get());
  for (int32_t i = 0; i < n; ++i) {
    eave_tensor et;
    check_status(eave_session_get_output(session_, i, &et));
    Tensor t(from_eave_dtype(et.dtype), std::vector<int64_t>(et.dims, et.dims + et.rank));
    EAVE_ASSERT(t.nbytes() <= et.byte_size);
    if (t.nbytes()) std::memcpy(t.mutable_raw(), et.data, t.nbytes());
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Tensor> RuntimeSession::run(const std::vector<std::pair<std::string, Tensor>>& inputs) {
  bind(inputs);
  run_bound();
  return outputs();
}

}  // namespace eave
