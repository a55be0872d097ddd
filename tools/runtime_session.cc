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
                  DType::Bool, DType::String})
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

eave_tensor RuntimeSession::view_of(const Tensor& t) {
  eave_tensor et{to_eave_dtype(t.dtype()), int32_t(t.rank()), t.dims().data(),
                 const_cast<void*>(t.raw()), t.nbytes()};
  if (t.dtype() == DType::String) {
    std::vector<const char*>& p = bound_strings_.emplace_back();
    for (const std::string& s : t.strings()) p.push_back(s.c_str());
    et.data = p.data();
    et.byte_size = p.size() * sizeof(const char*);
  }
  return et;
}

void RuntimeSession::bind(const std::vector<std::pair<std::string, Tensor>>& inputs) {
  bound_.clear();
  bound_strings_.clear();
  std::vector<bool> given(size_t(eave_model_input_count(model_->get())), false);
  for (const auto& [name, t0] : inputs) {
    int32_t index;
    check_status(eave_model_find_input(model_->get(), name.c_str(), &index));
    given[size_t(index)] = true;
    bound_.push_back(t0);
    eave_tensor et = view_of(bound_.back());
    check_status(eave_session_bind_input(session_, index, &et));
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

namespace {

Tensor to_tensor(const eave_tensor& et) {
  Tensor t(from_eave_dtype(et.dtype), std::vector<int64_t>(et.dims, et.dims + et.rank));
  if (t.dtype() == DType::String) {
    const auto* p = static_cast<const char* const*>(et.data);
    for (size_t i = 0; i < t.strings().size(); ++i) t.mutable_strings()[i] = p[i] ? p[i] : "";
    return t;
  }
  EAVE_ASSERT(t.nbytes() <= et.byte_size);
  if (t.nbytes()) std::memcpy(t.mutable_raw(), et.data, t.nbytes());
  return t;
}

}  // namespace

std::vector<Tensor> RuntimeSession::outputs() {
  std::vector<Tensor> out;
  int32_t n = eave_model_output_count(model_->get());
  for (int32_t i = 0; i < n; ++i) {
    eave_tensor et;
    check_status(eave_session_get_output(session_, i, &et));
    out.push_back(to_tensor(et));
  }
  return out;
}

std::vector<Tensor> RuntimeSession::run(const std::vector<std::pair<std::string, Tensor>>& inputs) {
  bind(inputs);
  run_bound();
  return outputs();
}

}  // namespace eave

namespace eave {

std::vector<ValueData> RuntimeSession::run_values(
    const std::vector<std::pair<std::string, ValueData>>& inputs) {
  bound_.clear();
  bound_strings_.clear();
  eave_model* m = model_->get();
  for (const auto& [name, value] : inputs) {
    int32_t index;
    check_status(eave_model_find_input(m, name.c_str(), &index));
    eave_tensor_info info;
    check_status(eave_model_get_input(m, index, &info));
    std::vector<Tensor> items;
    int32_t present = 1;
    if (value.is_tensor()) items.push_back(value.tensor);
    else if (value.is_sequence()) items = value.sequence;
    else present = 0;
    EAVE_CHECK(info.kind != EAVE_VALUE_TENSOR || value.is_tensor(), "input '", name,
               "' is a tensor");
    std::vector<eave_tensor> ts;
    for (Tensor& t : items) {
      bound_.push_back(std::move(t));  // moving keeps the data where it is
      ts.push_back(view_of(bound_.back()));
    }
    if (info.kind == EAVE_VALUE_TENSOR)
      check_status(eave_session_bind_input(session_, index, &ts[0]));
    else
      check_status(eave_session_bind_input_list(session_, index, present, ts.data(),
                                                int32_t(ts.size())),
                   "input '" + name + "': ");
  }
  run_bound();
  std::vector<ValueData> out;
  for (int32_t i = 0; i < eave_model_output_count(m); ++i) {
    eave_tensor_info info;
    check_status(eave_model_get_output(m, i, &info));
    if (info.kind == EAVE_VALUE_TENSOR) {
      eave_tensor et;
      check_status(eave_session_get_output(session_, i, &et));
      out.emplace_back(to_tensor(et));
      continue;
    }
    int32_t present = 0, count = 0;
    check_status(eave_session_get_output_list(session_, i, &present, &count));
    std::vector<Tensor> items;
    for (int32_t k = 0; k < count; ++k) {
      eave_tensor et;
      check_status(eave_session_get_output_item(session_, i, k, &et));
      items.push_back(to_tensor(et));
    }
    if (!present) out.push_back(ValueData::none());
    else if (info.kind == EAVE_VALUE_OPTIONAL_TENSOR) out.emplace_back(std::move(items.at(0)));
    else out.push_back(ValueData::of_sequence(std::move(items)));
  }
  return out;
}

}  // namespace eave
