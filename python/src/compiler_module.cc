// eave._compiler: the compiler for Python (eave.compile, eave.compare). Takes ONNX bytes and
// the CLI's own option spellings (tools/compile_flags.h), so options and their errors are the
// ones `eave compile` has; returns artifact bytes, which eave.runtime loads. PyTorch export
// happens in Python (eave/_torch.py) before this is called.
//
// eave::Error becomes eave.Error with the same message the CLI prints after "error: "; any
// other C++ exception is a bug and becomes eave.InternalError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cctype>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "compiler/compile.h"
#include "import/onnx_importer.h"
#include "lowering/mlir_kernel_generator.h"
#include "python/src/errors.h"
#include "support/error.h"
#include "support/mapped_file.h"
#include "tools/compare.h"
#include "tools/compile_flags.h"

namespace py = pybind11;

namespace {

using eave::CompileOptions;
using eave::DType;
using eave::Tensor;

// Options as the CLI spells them: {"target": "host", "cpu": "", "precision": "fp32",
// "input_shapes": ["x=1,3,224,224"], "dim_bounds": ["seq=1..512"]}.
CompileOptions options_from(const py::dict& flags) {
  eave::CompileFlags f;
  if (flags.contains("target")) f.target = py::cast<std::string>(flags["target"]);
  if (flags.contains("cpu")) f.cpu = py::cast<std::string>(flags["cpu"]);
  if (flags.contains("precision")) f.precision = py::cast<std::string>(flags["precision"]);
  if (flags.contains("input_shapes"))
    f.input_shapes = py::cast<std::vector<std::string>>(flags["input_shapes"]);
  if (flags.contains("dim_bounds"))
    f.dim_bounds = py::cast<std::vector<std::string>>(flags["dim_bounds"]);
  return eave::compile_options_from_flags(f);
}

// dynamic_dims={"x": {0: "batch"}}: those axes of the model's inputs become named symbols, on
// top of the declared shape (or the one input_shapes gave). Applied to `m` before compiling.
void apply_dynamic_dims(eave::Model& m, CompileOptions& o,
                        const std::map<std::string, std::map<int64_t, std::string>>& dynamic) {
  if (dynamic.empty()) return;
  eave::apply_input_shapes(m, o.input_shapes);
  o.input_shapes.clear();
  std::map<std::string, std::string> specs;
  for (const auto& [name, axes] : dynamic) {
    const eave::Value* in = nullptr;
    std::string names;
    for (const eave::Value* v : m.graph->inputs()) {
      names += (names.empty() ? "" : ", ") + v->name();
      if (v->name() == name) in = v;
    }
    EAVE_CHECK(in, "dynamic_dims names '", name, "', which is not an input (inputs: ", names, ")");
    EAVE_CHECK(in->type().is_tensor() && in->shape().has_rank(), "dynamic_dims for '", name,
               "': the input's rank is unknown; give its shape in input_shapes");
    std::vector<std::string> dims;
    for (const eave::Dim& d : in->shape().dims()) dims.push_back(d.str());
    for (const auto& [axis, symbol] : axes) {
      int64_t a = axis < 0 ? axis + int64_t(dims.size()) : axis;
      EAVE_CHECK(a >= 0 && a < int64_t(dims.size()), "dynamic_dims for '", name, "': axis ", axis,
                 " is out of range for rank ", dims.size());
      EAVE_CHECK(!symbol.empty() && !std::isdigit(static_cast<unsigned char>(symbol[0])) &&
                     symbol.find_first_of(",x") == std::string::npos,
                 "dynamic_dims for '", name, "': '", symbol,
                 "' is not a dim name (a name not starting with a digit, without ',' or 'x')");
      dims[size_t(a)] = symbol;
    }
    std::string spec;
    for (const auto& d : dims) spec += (spec.empty() ? "" : ",") + d;
    // A rank-1 spec has no separator; "5" or "batch" parse the same either way.
    specs[name] = spec;
  }
  eave::apply_input_shapes(m, specs);
}

// A model source from Python: a path (str), imported as `eave compile` imports a file so that
// errors read the same, or ONNX bytes (with the directory of their external data, if any).
struct Source {
  std::string path;
  std::string bytes;
  std::string base_dir;

  Source(const py::object& source, std::string dir) : base_dir(std::move(dir)) {
    if (py::isinstance<py::str>(source))
      path = py::cast<std::string>(source);
    else
      bytes = py::cast<std::string>(py::bytes(source));
  }
  std::unique_ptr<eave::Model> import(const eave::ImportOptions& io = {}) const {
    if (!path.empty()) return eave::import_onnx_file(path, io);
    return eave::import_onnx_bytes(bytes, base_dir, io);
  }
};

py::bytes compile(const py::object& source, const std::string& base_dir, const py::dict& flags,
                  const std::map<std::string, std::map<int64_t, std::string>>& dynamic_dims) {
  CompileOptions o = options_from(flags);
  Source src(source, base_dir);
  eave::CompiledModel c;
  {
    py::gil_scoped_release release;
    auto model = src.import();
    apply_dynamic_dims(*model, o, dynamic_dims);
    c = eave::compile_model(*model, o);
  }
  return py::bytes(reinterpret_cast<const char*>(c.artifact.data()), c.artifact.size());
}

// The graph inputs of an ONNX model, in order (for positional example inputs).
std::vector<std::string> input_names(const py::object& source, const std::string& base_dir) {
  eave::ImportOptions io;
  io.load_external_data = false;
  io.infer_shapes = false;
  auto model = Source(source, base_dir).import(io);
  std::vector<std::string> out;
  for (const eave::Value* v : model->graph->inputs()) out.push_back(v->name());
  return out;
}

Tensor tensor_from(const std::string& name, const py::array& a) {
  DType t = eave::dtype_from_name(py::cast<std::string>(py::str(a.dtype())));
  EAVE_CHECK(t != DType::Undefined && t != DType::String, "input '", name, "': numpy dtype ",
             py::cast<std::string>(py::str(a.dtype())), " has no eave element type");
  std::vector<int64_t> dims(a.shape(), a.shape() + a.ndim());
  Tensor out(t, dims);
  EAVE_ASSERT(out.nbytes() == size_t(a.nbytes()));
  if (out.nbytes()) std::memcpy(out.mutable_raw(), a.data(), out.nbytes());
  return out;
}

py::dict compare(const py::object& source, const std::string& base_dir, const py::dict& flags,
                 const std::map<std::string, std::map<int64_t, std::string>>& dynamic_dims,
                 const py::dict& inputs, const std::string& against, const std::string& granularity,
                 const std::map<std::string, int64_t>& dims, uint32_t seed, int threads) {
  eave::CompareOptions opts;
  opts.compile = options_from(flags);
  EAVE_CHECK(dynamic_dims.empty(), "compare takes input_shapes, not dynamic_dims");
  opts.compile.expose_intermediates = eave::granularity_from_name(granularity);
  opts.against = eave::against_from_name(against);
  for (auto item : inputs) {
    std::string name = py::cast<std::string>(item.first);
    opts.inputs.emplace_back(name,
                             tensor_from(name, py::reinterpret_borrow<py::array>(item.second)));
  }
  opts.dims = dims;
  opts.seed = seed;
  opts.threads = threads;
  Source src(source, base_dir);
  eave::CompareReport r;
  {
    py::gil_scoped_release release;
    // As `eave compare` does: the file's bytes, external data next to it.
    if (!src.path.empty()) src.bytes = eave::read_file(src.path);
    r = eave::compare_model(src.bytes, src.base_dir, opts);
  }
  py::list rows;
  for (const eave::CompareRow& row : r.rows) {
    py::dict d;
    d["value"] = row.value;
    d["node"] = row.node;
    d["op"] = row.op;
    d["dtype"] = row.dtype;
    d["shape"] = py::tuple(py::cast(row.shape));
    d["compared"] = row.compared;
    d["within_tolerance"] = row.within;
    d["max_abs_error"] = row.compared ? py::cast(row.agreement.max_abs) : py::none();
    d["rel_error"] = row.compared ? py::cast(row.agreement.max_rel) : py::none();
    d["cosine"] = row.compared ? py::cast(row.agreement.cosine) : py::none();
    d["snr_db"] = row.compared ? py::cast(row.agreement.snr_db) : py::none();
    d["note"] = row.note;
    rows.append(d);
  }
  py::dict out;
  out["against"] = r.against;
  out["granularity"] = r.granularity;
  out["rows"] = rows;
  out["first_over"] = r.first_over < 0 ? py::none() : py::cast(r.first_over);
  out["table"] = eave::compare_table(r, false);
  out["json"] = eave::compare_json(r);
  return out;
}

}  // namespace

PYBIND11_MODULE(_compiler, m) {
  m.doc() = "eave's compiler (ONNX bytes in, artifact bytes out); use eave.compile";
  eave::use_mlir_kernel_generator();
  eave::python::error_classes();
  // Module-local: pybind11's global translators are shared by every extension in the process.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const py::error_already_set&) {
      throw;
    } catch (const py::builtin_exception&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const eave::Error& e) {
      PyErr_SetString(eave::python::error_classes().user, e.what());
    } catch (const std::exception& e) {
      PyErr_SetString(eave::python::error_classes().internal, e.what());
    }
  });
  m.def("compile", &compile, py::arg("source"), py::arg("base_dir"), py::arg("flags"),
        py::arg("dynamic_dims"));
  m.def("input_names", &input_names, py::arg("source"), py::arg("base_dir"));
  m.def("compare", &compare, py::arg("source"), py::arg("base_dir"), py::arg("flags"),
        py::arg("dynamic_dims"), py::arg("inputs"), py::arg("against"), py::arg("granularity"),
        py::arg("dims"), py::arg("seed"), py::arg("threads"));
}
