#include "ir/dim.h"

#include <algorithm>
#include <atomic>
#include <set>

#include "support/error.h"

namespace eave {

struct DimAtom {
  enum Kind { Sym, FloorDiv, CeilDiv, Mod, Max, Min };
  Kind kind;
  std::string name;  // Sym
  Dim a, b;          // operands of the other kinds
};

using AtomRef = std::shared_ptr<const DimAtom>;

namespace {

struct Term {
  int64_t coeff;
  std::vector<AtomRef> factors;  // sorted by compare_atoms; repeats mean powers
};

int compare_atoms(const DimAtom& x, const DimAtom& y) {
  if (x.kind != y.kind) return x.kind < y.kind ? -1 : 1;
  if (x.kind == DimAtom::Sym) return x.name.compare(y.name) < 0 ? -1 : (x.name == y.name ? 0 : 1);
  if (int c = Dim::compare(x.a, y.a)) return c;
  return Dim::compare(x.b, y.b);
}

int compare_factors(const std::vector<AtomRef>& x, const std::vector<AtomRef>& y) {
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i)
    if (int c = compare_atoms(*x[i], *y[i])) return c;
  if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
  return 0;
}

}  // namespace

struct DimPoly {
  int64_t constant = 0;
  std::vector<Term> terms;  // sorted by factors, nonzero coefficients, at least one

  static Dim make(int64_t constant, std::vector<Term> terms) {
    for (auto& t : terms)
      std::sort(t.factors.begin(), t.factors.end(),
                [](const AtomRef& x, const AtomRef& y) { return compare_atoms(*x, *y) < 0; });
    std::sort(terms.begin(), terms.end(),
              [](const Term& x, const Term& y) { return compare_factors(x.factors, y.factors) < 0; });
    std::vector<Term> merged;
    for (auto& t : terms) {
      if (!merged.empty() && compare_factors(merged.back().factors, t.factors) == 0)
        merged.back().coeff += t.coeff;
      else
        merged.push_back(std::move(t));
    }
    std::erase_if(merged, [](const Term& t) { return t.coeff == 0; });
    if (merged.empty()) return Dim(constant);
    auto p = std::make_shared<DimPoly>();
    p->constant = constant;
    p->terms = std::move(merged);
    Dim d;
    d.poly_ = std::move(p);
    return d;
  }

  static void parts(const Dim& d, int64_t& constant, std::vector<Term>& terms) {
    if (d.is_const()) {
      constant = d.const_;
      terms.clear();
    } else {
      constant = d.poly_->constant;
      terms = d.poly_->terms;
    }
  }

  static Dim atom(DimAtom a) {
    Term t{1, {std::make_shared<const DimAtom>(std::move(a))}};
    return make(0, {std::move(t)});
  }

  static const DimPoly* of(const Dim& d) { return d.poly_.get(); }

  static const DimAtom* single_atom(const Dim& d) {
    if (d.is_const() || d.poly_->constant != 0 || d.poly_->terms.size() != 1) return nullptr;
    const Term& t = d.poly_->terms[0];
    if (t.coeff != 1 || t.factors.size() != 1) return nullptr;
    return t.factors[0].get();
  }

  // True if every coefficient and the constant of `d` is divisible by c.
  static bool divisible(const Dim& d, int64_t c) {
    if (c == 0) return false;
    if (d.is_const()) return d.const_ % c == 0;
    if (d.poly_->constant % c) return false;
    for (const auto& t : d.poly_->terms)
      if (t.coeff % c) return false;
    return true;
  }

  // a / b when b is a single term (c * atoms) that divides every term of a exactly and a has no
  // constant part; nullopt otherwise.
  static std::optional<Dim> divide_by_monomial(const Dim& a, const Dim& b) {
    if (a.is_const() || b.is_const() || b.poly_->constant != 0 || b.poly_->terms.size() != 1 ||
        a.poly_->constant != 0)
      return std::nullopt;
    const Term& m = b.poly_->terms[0];
    if (m.coeff == 0) return std::nullopt;
    std::vector<Term> out;
    for (const Term& t : a.poly_->terms) {
      if (t.coeff % m.coeff) return std::nullopt;
      std::vector<AtomRef> rest = t.factors;
      for (const AtomRef& f : m.factors) {
        auto it = std::find_if(rest.begin(), rest.end(),
                               [&](const AtomRef& x) { return compare_atoms(*x, *f) == 0; });
        if (it == rest.end()) return std::nullopt;
        rest.erase(it);
      }
      out.push_back({t.coeff / m.coeff, std::move(rest)});
    }
    // Terms whose factors all cancelled are constants.
    int64_t k = 0;
    std::erase_if(out, [&](const Term& t) {
      if (!t.factors.empty()) return false;
      k += t.coeff;
      return true;
    });
    return make(k, std::move(out));
  }

  static Dim divide_exact(const Dim& d, int64_t c) {
    int64_t k;
    std::vector<Term> terms;
    parts(d, k, terms);
    for (auto& t : terms) t.coeff /= c;
    return make(k / c, std::move(terms));
  }
};

namespace {

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

Dim binary_atom(DimAtom::Kind kind, const Dim& a, const Dim& b) {
  DimAtom atom{kind, {}, a, b};
  if ((kind == DimAtom::Max || kind == DimAtom::Min) && Dim::compare(b, a) < 0)
    std::swap(atom.a, atom.b);
  return DimPoly::atom(std::move(atom));
}

}  // namespace

Dim Dim::symbol(std::string_view name) {
  return DimPoly::atom(DimAtom{DimAtom::Sym, std::string(name), {}, {}});
}

Dim fresh_dim(std::string_view prefix) {
  static std::atomic<int64_t> counter{0};
  return Dim::symbol(std::string(prefix) + "_" + std::to_string(counter++));
}

int64_t Dim::value() const {
  EAVE_ASSERT(is_const());
  return const_;
}

bool Dim::is_symbol() const {
  const DimAtom* a = DimPoly::single_atom(*this);
  return a && a->kind == DimAtom::Sym;
}

const std::string& Dim::symbol_name() const {
  EAVE_ASSERT(is_symbol());
  return DimPoly::single_atom(*this)->name;
}

namespace {

// Known dims that overflow int64 (from a hostile or corrupt model) are an error, not a wrap.
int64_t checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail("dimension arithmetic overflows: ", a, " + ", b);
  return r;
}

int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail("dimension arithmetic overflows: ", a, " * ", b);
  return r;
}

}  // namespace

Dim operator+(const Dim& a, const Dim& b) {
  if (a.is_const() && b.is_const()) return Dim(checked_add(a.const_, b.const_));
  int64_t ka, kb;
  std::vector<Term> ta, tb;
  DimPoly::parts(a, ka, ta);
  DimPoly::parts(b, kb, tb);
  ta.insert(ta.end(), tb.begin(), tb.end());
  return DimPoly::make(ka + kb, std::move(ta));
}

Dim operator*(const Dim& a, const Dim& b) {
  if (a.is_const() && b.is_const()) return Dim(checked_mul(a.const_, b.const_));
  int64_t ka, kb;
  std::vector<Term> ta, tb;
  DimPoly::parts(a, ka, ta);
  DimPoly::parts(b, kb, tb);
  std::vector<Term> out;
  for (const auto& t : ta) out.push_back({t.coeff * kb, t.factors});
  for (const auto& t : tb) out.push_back({t.coeff * ka, t.factors});
  for (const auto& x : ta) {
    for (const auto& y : tb) {
      Term t{x.coeff * y.coeff, x.factors};
      t.factors.insert(t.factors.end(), y.factors.begin(), y.factors.end());
      out.push_back(std::move(t));
    }
  }
  return DimPoly::make(ka * kb, std::move(out));
}

Dim operator-(const Dim& a, const Dim& b) { return a + Dim(-1) * b; }

Dim Dim::floordiv(const Dim& a, const Dim& b) {
  if (b.is_const()) {
    EAVE_CHECK(b.const_ != 0, "division by zero in dimension expression ", a.str(), " / 0");
    if (b.const_ == 1) return a;
    if (a.is_const()) return Dim(floor_div(a.const_, b.const_));
    if (DimPoly::divisible(a, b.const_)) return DimPoly::divide_exact(a, b.const_);
  }
  if (a == b) return Dim(1);
  if (auto q = DimPoly::divide_by_monomial(a, b)) return *q;
  return binary_atom(DimAtom::FloorDiv, a, b);
}

Dim Dim::ceildiv(const Dim& a, const Dim& b) {
  if (b.is_const()) {
    EAVE_CHECK(b.const_ != 0, "division by zero in dimension expression ", a.str(), " / 0");
    if (b.const_ == 1) return a;
    if (a.is_const()) return Dim(ceil_div(a.const_, b.const_));
    if (DimPoly::divisible(a, b.const_)) return DimPoly::divide_exact(a, b.const_);
  }
  if (a == b) return Dim(1);
  if (auto q = DimPoly::divide_by_monomial(a, b)) return *q;
  return binary_atom(DimAtom::CeilDiv, a, b);
}

Dim Dim::mod(const Dim& a, const Dim& b) {
  if (b.is_const()) {
    EAVE_CHECK(b.const_ != 0, "division by zero in dimension expression ", a.str(), " mod 0");
    if (a.is_const()) return Dim(floor_mod(a.const_, b.const_));
    if (DimPoly::divisible(a, b.const_)) return Dim(0);
  }
  if (a == b || DimPoly::divide_by_monomial(a, b)) return Dim(0);
  return binary_atom(DimAtom::Mod, a, b);
}

Dim Dim::max(const Dim& a, const Dim& b) {
  if (a == b) return a;
  Dim diff = a - b;
  if (diff.is_const()) return diff.const_ >= 0 ? a : b;
  return binary_atom(DimAtom::Max, a, b);
}

Dim Dim::min(const Dim& a, const Dim& b) {
  if (a == b) return a;
  Dim diff = a - b;
  if (diff.is_const()) return diff.const_ <= 0 ? a : b;
  return binary_atom(DimAtom::Min, a, b);
}

int Dim::compare(const Dim& a, const Dim& b) {
  if (a.is_const() != b.is_const()) return a.is_const() ? -1 : 1;
  if (a.is_const()) return a.const_ < b.const_ ? -1 : (a.const_ > b.const_ ? 1 : 0);
  if (a.poly_ == b.poly_) return 0;
  const auto& x = *a.poly_;
  const auto& y = *b.poly_;
  for (size_t i = 0; i < std::min(x.terms.size(), y.terms.size()); ++i) {
    if (int c = compare_factors(x.terms[i].factors, y.terms[i].factors)) return c;
    if (x.terms[i].coeff != y.terms[i].coeff) return x.terms[i].coeff < y.terms[i].coeff ? -1 : 1;
  }
  if (x.terms.size() != y.terms.size()) return x.terms.size() < y.terms.size() ? -1 : 1;
  if (x.constant != y.constant) return x.constant < y.constant ? -1 : 1;
  return 0;
}

namespace {

void collect_symbols(const Dim& d, std::set<std::string>& out);

void collect_atom(const DimAtom& a, std::set<std::string>& out) {
  if (a.kind == DimAtom::Sym) {
    out.insert(a.name);
  } else {
    collect_symbols(a.a, out);
    collect_symbols(a.b, out);
  }
}

}  // namespace

namespace {

void collect_symbols(const Dim& d, std::set<std::string>& out) {
  if (const DimPoly* p = DimPoly::of(d))
    for (const auto& t : p->terms)
      for (const auto& f : t.factors) collect_atom(*f, out);
}

}  // namespace

std::vector<std::string> Dim::symbols() const {
  std::set<std::string> s;
  collect_symbols(*this, s);
  return {s.begin(), s.end()};
}

std::optional<int64_t> Dim::eval(
    const std::function<std::optional<int64_t>(const std::string&)>& lookup) const {
  if (is_const()) return const_;
  int64_t sum = poly_->constant;
  for (const auto& t : poly_->terms) {
    int64_t prod = t.coeff;
    for (const auto& f : t.factors) {
      std::optional<int64_t> v;
      if (f->kind == DimAtom::Sym) {
        v = lookup(f->name);
      } else {
        auto x = f->a.eval(lookup);
        auto y = f->b.eval(lookup);
        if (!x || !y) return std::nullopt;
        switch (f->kind) {
          case DimAtom::FloorDiv:
            if (*y == 0) return std::nullopt;
            v = floor_div(*x, *y);
            break;
          case DimAtom::CeilDiv:
            if (*y == 0) return std::nullopt;
            v = ceil_div(*x, *y);
            break;
          case DimAtom::Mod:
            if (*y == 0) return std::nullopt;
            v = floor_mod(*x, *y);
            break;
          case DimAtom::Max: v = std::max(*x, *y); break;
          case DimAtom::Min: v = std::min(*x, *y); break;
          case DimAtom::Sym: break;
        }
      }
      if (!v) return std::nullopt;
      prod *= *v;
    }
    sum += prod;
  }
  return sum;
}

Dim Dim::substitute(const std::function<std::optional<Dim>(const std::string&)>& f) const {
  if (is_const()) return *this;
  Dim sum(poly_->constant);
  for (const auto& t : poly_->terms) {
    Dim prod(t.coeff);
    for (const auto& a : t.factors) {
      Dim v;
      switch (a->kind) {
        case DimAtom::Sym: {
          auto r = f(a->name);
          v = r ? *r : Dim::symbol(a->name);
          break;
        }
        case DimAtom::FloorDiv: v = floordiv(a->a.substitute(f), a->b.substitute(f)); break;
        case DimAtom::CeilDiv: v = ceildiv(a->a.substitute(f), a->b.substitute(f)); break;
        case DimAtom::Mod: v = mod(a->a.substitute(f), a->b.substitute(f)); break;
        case DimAtom::Max: v = max(a->a.substitute(f), a->b.substitute(f)); break;
        case DimAtom::Min: v = min(a->a.substitute(f), a->b.substitute(f)); break;
      }
      prod = prod * v;
    }
    sum = sum + prod;
  }
  return sum;
}

namespace {

std::string atom_str(const DimAtom& a) {
  auto paren = [](const Dim& d) {
    std::string s = d.str();
    bool simple = d.is_const() || d.is_symbol();
    return simple ? s : "(" + s + ")";
  };
  switch (a.kind) {
    case DimAtom::Sym: return a.name;
    case DimAtom::FloorDiv: return "floor(" + paren(a.a) + "/" + paren(a.b) + ")";
    case DimAtom::CeilDiv: return "ceil(" + paren(a.a) + "/" + paren(a.b) + ")";
    case DimAtom::Mod: return "(" + paren(a.a) + " mod " + paren(a.b) + ")";
    case DimAtom::Max: return "max(" + a.a.str() + "," + a.b.str() + ")";
    case DimAtom::Min: return "min(" + a.a.str() + "," + a.b.str() + ")";
  }
  return "?";
}

}  // namespace

std::string Dim::str() const {
  if (is_const()) return std::to_string(const_);
  std::string s;
  for (size_t i = 0; i < poly_->terms.size(); ++i) {
    const auto& t = poly_->terms[i];
    int64_t c = t.coeff;
    if (i > 0) {
      s += c < 0 ? " - " : " + ";
      c = c < 0 ? -c : c;
    } else if (c < 0) {
      s += "-";
      c = -c;
    }
    if (c != 1) s += std::to_string(c) + "*";
    for (size_t j = 0; j < t.factors.size(); ++j) {
      if (j) s += "*";
      s += atom_str(*t.factors[j]);
    }
  }
  if (poly_->constant > 0) s += " + " + std::to_string(poly_->constant);
  if (poly_->constant < 0) s += " - " + std::to_string(-poly_->constant);
  return s;
}

Dim::Expansion Dim::expand() const {
  Expansion e{is_const() ? const_ : poly_->constant, {}};
  if (is_const()) return e;
  for (const auto& t : poly_->terms) {
    Dim::Term term{t.coeff, {}};
    for (const AtomRef& f : t.factors) {
      Dim::Atom a;
      a.kind = AtomKind(int(f->kind));
      a.name = f->name;
      if (f->kind != DimAtom::Sym) {
        a.a = std::make_shared<const Dim>(f->a);
        a.b = std::make_shared<const Dim>(f->b);
      }
      term.factors.push_back(std::move(a));
    }
    e.terms.push_back(std::move(term));
  }
  return e;
}

Shape Shape::from_ints(const std::vector<int64_t>& dims) {
  std::vector<Dim> d(dims.begin(), dims.end());
  return Shape(std::move(d));
}

size_t Shape::rank() const {
  EAVE_ASSERT(has_rank_);
  return dims_.size();
}

bool Shape::is_static() const {
  if (!has_rank_) return false;
  for (const auto& d : dims_)
    if (!d.is_const()) return false;
  return true;
}

std::vector<int64_t> Shape::static_dims() const {
  EAVE_ASSERT(is_static());
  std::vector<int64_t> out;
  for (const auto& d : dims_) out.push_back(d.value());
  return out;
}

Dim Shape::numel() const {
  EAVE_ASSERT(has_rank_);
  Dim n(1);
  for (const auto& d : dims_) n = n * d;
  return n;
}

std::string Shape::str() const {
  if (!has_rank_) return "[?]";
  std::string s = "[";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += ",";
    s += dims_[i].str();
  }
  return s + "]";
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.has_rank_ != b.has_rank_) return false;
  return a.dims_ == b.dims_;
}

}  // namespace eave
