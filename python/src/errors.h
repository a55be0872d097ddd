// The Python exception classes both extensions raise, eave.Error and eave.InternalError, which
// live in pure Python (eave/_errors.py) so that eave._runtime and eave._compiler raise the same
// classes.
#pragma once

#include <pybind11/pybind11.h>

namespace eave::python {

struct ErrorClasses {
  PyObject* user;      // eave.Error
  PyObject* internal;  // eave.InternalError
};

// Imported once, then held for the life of the process (translators may run at any time).
inline const ErrorClasses& error_classes() {
  static const ErrorClasses classes = [] {
    pybind11::module_ errors = pybind11::module_::import("eave._errors");
    // release(): the references are kept, never dropped.
    return ErrorClasses{pybind11::object(errors.attr("Error")).release().ptr(),
                        pybind11::object(errors.attr("InternalError")).release().ptr()};
  }();
  return classes;
}

}  // namespace eave::python
