// A tensor dimension: a constant or a symbolic expression over named symbols (`batch`, `seq`).
//
// Expressions are kept in a canonical polynomial form (a constant plus integer-weighted products
// of atoms, where an atom is a symbol or an opaque floordiv/ceildiv/mod/max/min node), so that
// `seq*batch*64` and `64*batch*seq` compare equal and `(seq+1)-1` folds back to `seq`. This is
// what lets symbolic dims flow through reshapes, concats and broadcasts during shape inference.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eave {

struct DimPoly;

class Dim {
 public:
  Dim() = default;  // the constant 0
  Dim(int64_t c) : const_(c) {}  // NOLINT: implicit from integers on purpose
  Dim(int c) : const_(c) {}      // NOLINT
  static Dim symbol(std::string_view name);

  bool is_const() const { return poly_ == nullptr; }
  int64_t value() const;  // asserts is_const()
  std::optional<int64_t> as_const() const {
    return is_const() ? std::optional<int64_t>(const_) : std::nullopt;
  }
  // True if this is a bare symbol; symbol_name() then gives its name.
  bool is_symbol() const;
  const std::string& symbol_name() const;

  friend Dim operator+(const Dim& a, const Dim& b);
  friend Dim operator-(const Dim& a, const Dim& b);
  friend Dim operator*(const Dim& a, const Dim& b);
  Dim& operator+=(const Dim& b) { return *this = *this + b; }
  Dim& operator*=(const Dim& b) { return *this = *this * b; }
  static Dim floordiv(const Dim& a, const Dim& b);
  static Dim ceildiv(const Dim& a, const Dim& b);
  static Dim mod(const Dim& a, const Dim& b);
  static Dim max(const Dim& a, const Dim& b);
  static Dim min(const Dim& a, const Dim& b);

  friend bool operator==(const Dim& a, const Dim& b) { return compare(a, b) == 0; }
  friend bool operator!=(const Dim& a, const Dim& b) { return compare(a, b) != 0; }
  // A total order on canonical forms (for sorting and maps), not a numeric comparison.
  static int compare(const Dim& a, const Dim& b);
  friend bool operator<(const Dim& a, const Dim& b) { return compare(a, b) < 0; }

  // Names of all symbols the expression mentions, sorted and unique.
  std::vector<std::string> symbols() const;
  // Evaluates with every symbol bound by `lookup`; nullopt if a symbol is unbound or a division
  // by zero occurs.
  std::optional<int64_t> eval(
      const std::function<std::optional<int64_t>(const std::string&)>& lookup) const;
  // Replaces symbols by expressions; unmapped symbols stay.
  Dim substitute(const std::function<std::optional<Dim>(const std::string&)>& f) const;

  // "64", "batch", "2*seq + 1", "ceil(seq/2)", "max(a,b)".
  std::string str() const;

  // The canonical form, for code that translates dims into another representation (the
  // runtime's symbol expressions): constant + sum of coeff * product of atoms.
  enum class AtomKind { Symbol, FloorDiv, CeilDiv, Mod, Max, Min };
  struct Atom {
    AtomKind kind;
    std::string name;  // Symbol
    std::shared_ptr<const Dim> a, b;  // the other kinds
  };
  struct Term {
    int64_t coeff;
    std::vector<Atom> factors;
  };
  struct Expansion {
    int64_t constant;
    std::vector<Term> terms;
  };
  Expansion expand() const;

 private:
  int64_t const_ = 0;
  std::shared_ptr<const DimPoly> poly_;
  friend struct DimPoly;
  friend struct DimAtom;
};

// A fresh symbol unique in this process, named `prefix` plus a counter: used for dims nothing
// is known about (ONNX files leave some dims blank; some ops have data-dependent output sizes).
Dim fresh_dim(std::string_view prefix = "unk");

// The shape of a tensor: a list of dims, or unknown rank.
class Shape {
 public:
  Shape() = default;  // unknown rank
  Shape(std::vector<Dim> dims) : dims_(std::move(dims)), has_rank_(true) {}  // NOLINT
  Shape(std::initializer_list<Dim> dims) : dims_(dims), has_rank_(true) {}
  static Shape from_ints(const std::vector<int64_t>& dims);
  static Shape unknown() { return Shape(); }

  bool has_rank() const { return has_rank_; }
  size_t rank() const;  // asserts has_rank()
  const Dim& operator[](size_t i) const { return dims_.at(i); }
  Dim& operator[](size_t i) { return dims_.at(i); }
  const std::vector<Dim>& dims() const { return dims_; }
  bool is_static() const;  // rank known and every dim constant
  std::vector<int64_t> static_dims() const;  // asserts is_static()
  Dim numel() const;  // product of dims; asserts has_rank()
  std::string str() const;  // "[batch,3,224,224]", "[?]" for unknown rank

  friend bool operator==(const Shape& a, const Shape& b);
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  std::vector<Dim> dims_;
  bool has_rank_ = false;
};

}  // namespace eave
