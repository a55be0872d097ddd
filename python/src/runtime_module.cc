// eave._runtime: the Python binding of the C runtime alone (runtime/include/eave/runtime.h).
// It links nothing from the compiler, MLIR or LLVM, so `import eave.runtime` loads and runs
// artifacts where only the runtime is wanted. python/eave/runtime.py is the API over it.
//
// Errors are eave.Error (eave/_errors.py) with the runtime's messages, which are the ones the
// CLI prints; a runtime bug (EAVE_STATUS_INTERNAL) is eave.InternalError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "eave/runtime.h"
#include "python/src/errors.h"
#include "runtime/src/model.h"  // the planned arena size that benchmark() reports
#include "tools/bench_stats.h"

namespace py = pybind11;

namespace {

struct UserError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct InternalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(eave_status s, const std::string& prefix = "") {
  if (!s) return;
  std::string msg = prefix + eave_status_get_message(s);
  bool internal = eave_status_get_code(s) == EAVE_STATUS_INTERNAL;
  eave_status_release(s);
  if (internal) throw InternalError(msg);
  throw UserError(msg);
}

// eave's element types and numpy's. bf16 has no numpy type: its values travel as their
// uint16 bits.
struct DTypePair {
  eave_dtype eave;
  const char* numpy;
  char kind;  // numpy's dtype.kind
  int size;
};
constexpr DTypePair kDTypes[] = {
    {EAVE_DTYPE_F32, "float32", 'f', 4}, {EAVE_DTYPE_F16, "float16", 'f', 2},
    {EAVE_DTYPE_F64, "float64", 'f', 8}, {EAVE_DTYPE_I8, "int8", 'i', 1},
    {EAVE_DTYPE_U8, "uint8", 'u', 1},    {EAVE_DTYPE_I16, "int16", 'i', 2},
    {EAVE_DTYPE_U16, "uint16", 'u', 2},  {EAVE_DTYPE_I32, "int32", 'i', 4},
    {EAVE_DTYPE_U32, "uint32", 'u', 4},  {EAVE_DTYPE_I64, "int64", 'i', 8},
    {EAVE_DTYPE_U64, "uint64", 'u', 8},  {EAVE_DTYPE_BOOL, "bool", 'b', 1},
};

py::dtype numpy_dtype(eave_dtype t) {
  if (t == EAVE_DTYPE_BF16) return py::dtype("uint16");
  if (t == EAVE_DTYPE_STRING) return py::dtype("O");  // Python str objects, as ONNX Runtime gives
  for (const DTypePair& p : kDTypes)
    if (p.eave == t) return py::dtype(p.numpy);
  throw InternalError("an output of unknown element type");
}

// UNDEFINED when eave has no such type (complex, void, ...). str, bytes and object arrays are
// string tensors.
eave_dtype eave_dtype_of(const py::array& a) {
  char kind = a.dtype().kind();
  if (kind == 'U' || kind == 'S' || kind == 'O') return EAVE_DTYPE_STRING;
  for (const DTypePair& p : kDTypes)
    if (p.kind == a.dtype().kind() && p.size == a.itemsize()) return p.eave;
  return EAVE_DTYPE_UNDEFINED;
}

// A loaded artifact: eave_model, immutable and shared by every session made from it.
class NativeModel {
 public:
  static std::shared_ptr<NativeModel> load_file(const std::string& path) {
    auto m = std::make_shared<NativeModel>();
    check(eave_model_load_file(path.c_str(), nullptr, &m->model_), "'" + path + "': ");
    return m;
  }
  // One 64-byte aligned copy of the bytes, which the model borrows (and to_bytes() returns).
  // `foreign_ok`: an artifact for another architecture or CPU (eave.compile(target=...)) loads
  // for inspection and saving; foreign() then says why it cannot run here.
  static std::shared_ptr<NativeModel> load_bytes(const py::bytes& data, bool foreign_ok) {
    auto m = std::make_shared<NativeModel>();
    std::string_view b = data;
    m->size_ = b.size();
    m->copy_ = static_cast<uint8_t*>(std::aligned_alloc(64, (b.size() + 64) / 64 * 64));
    if (!m->copy_) throw std::bad_alloc();
    std::memcpy(m->copy_, b.data(), b.size());
    eave_status st = eave_model_load_memory(m->copy_, m->size_, nullptr, &m->model_);
    if (st && foreign_ok && eave_status_get_code(st) == EAVE_STATUS_UNSUPPORTED) {
      m->foreign_ = eave_status_get_message(st);
      eave_status_release(st);
      st = eave_model_inspect(m->copy_, m->size_, &m->model_);
    }
    check(st);
    return m;
  }
  ~NativeModel() {
    eave_model_release(model_);
    std::free(copy_);
  }
  // The artifact bytes of a model loaded from bytes; None for one loaded from a file.
  py::object to_bytes() const {
    if (!copy_) return py::none();
    return py::bytes(reinterpret_cast<const char*>(copy_), size_);
  }
  eave_model* get() const { return model_; }

  // [(name, numpy dtype, [dim or symbol name])] for the inputs or the outputs.
  py::list signature(bool inputs) const {
    py::list out;
    int32_t n = inputs ? eave_model_input_count(model_) : eave_model_output_count(model_);
    for (int32_t i = 0; i < n; ++i) {
      eave_tensor_info ti;
      check(inputs ? eave_model_get_input(model_, i, &ti) : eave_model_get_output(model_, i, &ti));
      py::list dims;
      for (int32_t d = 0; d < ti.rank; ++d) {
        if (ti.dims[d] >= 0)
          dims.append(ti.dims[d]);
        else if (ti.dim_symbols && ti.dim_symbols[d])
          dims.append(py::str(ti.dim_symbols[d]));
        else
          dims.append(py::none());
      }
      out.append(
          py::make_tuple(ti.name, numpy_dtype(ti.dtype), dims, py::str(eave_dtype_name(ti.dtype))));
    }
    return out;
  }
  uint64_t arena_bytes() const { return model_->programs[0].arena_size; }
  // The target triple the artifact was compiled for.
  std::string target() const { return eave_model_string(model_, model_->target.triple); }
  // Why this machine cannot run the model ("" when it can).
  const std::string& foreign() const { return foreign_; }

 private:
  eave_model* model_ = nullptr;
  uint8_t* copy_ = nullptr;  // load_bytes: the bytes the model uses in place
  size_t size_ = 0;
  std::string foreign_;
};

// A session: the memory and threads for running a model. Calls from several Python threads are
// serialized (a session is thread-compatible); the GIL is released while the model runs.
class NativeSession {
 public:
  NativeSession(std::shared_ptr<NativeModel> model, int threads) : model_(std::move(model)) {
    eave_session_options o;
    eave_session_options_initialize(&o);
    o.threads = threads;
    check(eave_session_create(model_->get(), &o, &session_));
    threads_ = threads;
  }
  ~NativeSession() { eave_session_release(session_); }

  // Binds every input (by name: a dict of C-contiguous arrays), runs, returns the outputs.
  py::list run(const py::dict& inputs) {
    auto lock = acquire();
    bind(inputs);
    run_bound();
    return outputs();
  }

  // The figures of `eave bench` (tools/bench_stats.h) on these inputs.
  py::dict benchmark(const py::dict& inputs, int64_t runs, int64_t warmup) {
    if (runs <= 0) throw UserError("runs must be positive");
    auto lock = acquire();
    bind(inputs);
    std::vector<double> ms;
    {
      py::gil_scoped_release release;
      for (int64_t i = 0; i < warmup; ++i) check(eave_session_run(session_));
      for (int64_t i = 0; i < runs; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        check(eave_session_run(session_));
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
      }
    }
    eave::BenchFigures f = eave::bench_figures(ms, model_->arena_bytes());
    py::dict d;
    d["median_ms"] = f.median_ms;
    d["p90_ms"] = f.p90_ms;
    d["min_ms"] = f.min_ms;
    d["peak_rss_mb"] = f.peak_rss_mb;
    d["arena_bytes"] = f.arena_bytes;
    d["threads"] = threads_;
    d["runs"] = runs;
    return d;
  }

 private:
  // The session, waited for without the GIL: a thread running the model needs the GIL back
  // when it finishes, so waiting while holding it would deadlock.
  std::unique_lock<std::mutex> acquire() {
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    py::gil_scoped_release release;
    lock.lock();
    return lock;
  }

  void bind(const py::dict& inputs) {
    eave_model* m = model_->get();
    bound_.clear();
    bound_text_.clear();
    bound_pointers_.clear();
    std::vector<bool> given(size_t(eave_model_input_count(m)), false);
    for (auto item : inputs) {
      std::string name = py::cast<std::string>(item.first);
      int32_t index;
      check(eave_model_find_input(m, name.c_str(), &index));
      auto a = py::reinterpret_borrow<py::array>(item.second);
      if (!(a.flags() & py::array::c_style))
        throw InternalError("input '" + name + "' reached the binding not C-contiguous");
      eave_dtype dt = eave_dtype_of(a);
      if (dt == EAVE_DTYPE_UNDEFINED)
        throw UserError("input '" + name + "': numpy dtype " +
                        py::cast<std::string>(py::str(a.dtype())) + " has no eave element type");
      std::vector<int64_t> dims(a.shape(), a.shape() + a.ndim());
      eave_tensor t{dt, int32_t(a.ndim()), dims.data(), const_cast<void*>(a.data()),
                    size_t(a.nbytes())};
      if (dt == EAVE_DTYPE_STRING) {
        const std::vector<const char*>& p = text_of(name, a);
        t.data = const_cast<const char**>(p.data());
        t.byte_size = p.size() * sizeof(const char*);
      }
      check(eave_session_bind_input(session_, index, &t));
      given[size_t(index)] = true;
      bound_.push_back(a);  // the runtime reads the data in place
    }
    // The same words as the CLI (tools/runtime_session.cc).
    for (size_t i = 0; i < given.size(); ++i) {
      if (given[i]) continue;
      std::string names;
      eave_tensor_info ti;
      for (int32_t k = 0; k < eave_model_input_count(m); ++k) {
        check(eave_model_get_input(m, k, &ti));
        names += std::string(names.empty() ? "'" : ", '") + ti.name + "'";
      }
      check(eave_model_get_input(m, int32_t(i), &ti));
      throw UserError(std::string("missing input '") + ti.name + "' (the model's inputs: " + names +
                      ")");
    }
  }

  void run_bound() {
    eave_status st;
    {
      py::gil_scoped_release release;
      st = eave_session_run(session_);
    }
    check(st);
  }

  // The UTF-8 text of a str, bytes or object array's elements, kept until the next bind.
  const std::vector<const char*>& text_of(const std::string& name, const py::array& a) {
    std::vector<std::string>& text = bound_text_.emplace_back();
    py::object flat = a.attr("ravel")();
    for (py::handle e : flat.attr("tolist")()) {
      if (!PyBytes_Check(e.ptr()) && !PyUnicode_Check(e.ptr()))
        throw UserError("input '" + name + "': element " + std::to_string(text.size()) + " is " +
                        py::cast<std::string>(py::str(py::type::of(e).attr("__name__"))) +
                        ", expected str or bytes");
      text.push_back(py::cast<std::string>(e));  // str as UTF-8, bytes as they are
    }
    std::vector<const char*>& p = bound_pointers_.emplace_back();
    for (const std::string& s : text) p.push_back(s.c_str());
    return p;
  }

  py::list outputs() {
    py::list out;
    int32_t n = eave_model_output_count(model_->get());
    for (int32_t i = 0; i < n; ++i) {
      eave_tensor t;
      check(eave_session_get_output(session_, i, &t));
      std::vector<py::ssize_t> shape(t.dims, t.dims + t.rank);
      py::array a(numpy_dtype(t.dtype), shape);
      if (t.dtype == EAVE_DTYPE_STRING) {
        auto** objects = static_cast<PyObject**>(a.mutable_data());
        const auto* text = static_cast<const char* const*>(t.data);
        for (py::ssize_t k = 0; k < a.size(); ++k) {
          const char* s = text[k] ? text[k] : "";
          PyObject* str = PyUnicode_DecodeUTF8(s, py::ssize_t(std::strlen(s)), "replace");
          if (!str) throw py::error_already_set();
          Py_XDECREF(objects[k]);  // numpy filled object arrays with None
          objects[k] = str;
        }
      } else if (a.nbytes()) {
        std::memcpy(a.mutable_data(), t.data, size_t(a.nbytes()));
      }
      out.append(a);
    }
    return out;
  }

  std::shared_ptr<NativeModel> model_;
  eave_session* session_ = nullptr;
  int threads_ = 1;
  std::mutex mutex_;
  std::vector<py::array> bound_;
  std::deque<std::vector<std::string>> bound_text_;  // string inputs' text (stable addresses)
  std::deque<std::vector<const char*>> bound_pointers_;
};

}  // namespace

PYBIND11_MODULE(_runtime, m) {
  m.doc() = "eave's C runtime (load and run .eave artifacts); use eave.runtime";
  eave::python::error_classes();
  // Module-local: pybind11's global translators are shared by every extension in the process.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const UserError& e) {
      PyErr_SetString(eave::python::error_classes().user, e.what());
    } catch (const InternalError& e) {
      PyErr_SetString(eave::python::error_classes().internal, e.what());
    }
  });

  py::class_<NativeModel, std::shared_ptr<NativeModel>>(m, "NativeModel")
      .def_static("load_file", &NativeModel::load_file, py::arg("path"))
      .def_static("load_bytes", &NativeModel::load_bytes, py::arg("data"),
                  py::arg("foreign_ok") = false)
      .def_property_readonly("target", &NativeModel::target)
      .def_property_readonly("foreign", &NativeModel::foreign)
      .def("to_bytes", &NativeModel::to_bytes)
      .def("inputs", [](const NativeModel& self) { return self.signature(true); })
      .def("outputs", [](const NativeModel& self) { return self.signature(false); })
      .def_property_readonly("arena_bytes", &NativeModel::arena_bytes);

  py::class_<NativeSession>(m, "NativeSession")
      .def(py::init<std::shared_ptr<NativeModel>, int>(), py::arg("model"), py::arg("threads"))
      .def("run", &NativeSession::run, py::arg("inputs"))
      .def("benchmark", &NativeSession::benchmark, py::arg("inputs"), py::arg("runs"),
           py::arg("warmup"));
}
