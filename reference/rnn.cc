// Reference kernels: recurrent layers RNN, GRU and LSTM, following the ONNX equations step by
// step for each direction and batch entry. Shared by all three: directions forward / reverse /
// bidirectional, per-entry sequence_lens (outputs past an entry's length are zero and its final
// state is the one at its last step), initial states, cell clipping of activation inputs,
// activation functions with their alpha/beta, and layout 0 (time-major) or 1 (batch-major).
// 16-bit floats compute in float, f64 in double.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <string>

#include "reference/util.h"

namespace eave::ref {

namespace {

// ---------------------------------------------------------------- activations

enum class ActKind {
  Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu,
  Softsign, Softplus,
};

struct Activation {
  ActKind kind;
  double alpha = 0, beta = 0;

  template <class C>
  C operator()(C x) const {
    C a = C(alpha), b = C(beta);
    switch (kind) {
      case ActKind::Relu: return x > C(0) ? x : C(0);
      case ActKind::Tanh: return std::tanh(x);
      case ActKind::Sigmoid: return C(1) / (C(1) + std::exp(-x));
      case ActKind::Affine: return a * x + b;
      case ActKind::LeakyRelu: return x >= C(0) ? x : a * x;
      case ActKind::ThresholdedRelu: return x > a ? x : C(0);
      case ActKind::ScaledTanh: return a * std::tanh(b * x);
      case ActKind::HardSigmoid: return std::max(C(0), std::min(C(1), a * x + b));
      case ActKind::Elu: return x >= C(0) ? x : a * (std::exp(x) - C(1));
      case ActKind::Softsign: return x / (C(1) + std::abs(x));
      case ActKind::Softplus: return std::log1p(std::exp(x));
    }
    return x;
  }
};

// An activation by its ONNX name. `alphas`/`betas` are consumed in order by the functions that
// take them; functions past the end of the lists use their usual defaults.
Activation make_activation(const KernelContext& ctx, const std::string& name,
                           const std::vector<float>& alphas, size_t& ai,
                           const std::vector<float>& betas, size_t& bi) {
  std::string n;
  for (char c : name) n += char(std::tolower(static_cast<unsigned char>(c)));
  struct Known {
    const char* name;
    ActKind kind;
    bool has_alpha, has_beta;
    double alpha, beta;
  };
  static const Known known[] = {
      {"relu", ActKind::Relu, false, false, 0, 0},
      {"tanh", ActKind::Tanh, false, false, 0, 0},
      {"sigmoid", ActKind::Sigmoid, false, false, 0, 0},
      {"affine", ActKind::Affine, true, true, 1.0, 0.0},
      {"leakyrelu", ActKind::LeakyRelu, true, false, 0.01, 0},
      {"thresholdedrelu", ActKind::ThresholdedRelu, true, false, 1.0, 0},
      {"scaledtanh", ActKind::ScaledTanh, true, true, 1.0, 1.0},
      {"hardsigmoid", ActKind::HardSigmoid, true, true, 0.2, 0.5},
      {"elu", ActKind::Elu, true, false, 1.0, 0},
      {"softsign", ActKind::Softsign, false, false, 0, 0},
      {"softplus", ActKind::Softplus, false, false, 0, 0},
  };
  for (const Known& k : known) {
    if (n != k.name) continue;
    Activation a{k.kind, k.alpha, k.beta};
    if (k.has_alpha && ai < alphas.size()) a.alpha = alphas[ai++];
    if (k.has_beta && bi < betas.size()) a.beta = betas[bi++];
    return a;
  }
  ctx.fail("unknown activation function '", name, "'");
}

// The activations of each direction: `defaults` gives the per-direction function names used
// when the attribute is absent. A list for one direction is reused for both.
std::vector<std::vector<Activation>> activations(const KernelContext& ctx, int64_t dirs,
                                                 const std::vector<std::string>& defaults) {
  const Node& node = ctx.node();
  std::vector<std::string> names = node.attr_strings("activations", std::vector<std::string>{});
  size_t per_dir = defaults.size();
  if (names.empty())
    for (int64_t d = 0; d < dirs; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  if (names.size() == per_dir && dirs == 2) {
    std::vector<std::string> once = names;
    names.insert(names.end(), once.begin(), once.end());
  }
  ctx.check(names.size() == per_dir * size_t(dirs), "activations has ", names.size(),
            " functions, expected ", per_dir, " per direction for ", dirs, " direction(s)");
  std::vector<float> alphas = node.attr_floats("activation_alpha", std::vector<float>{});
  std::vector<float> betas = node.attr_floats("activation_beta", std::vector<float>{});
  size_t ai = 0, bi = 0;
  std::vector<std::vector<Activation>> out(static_cast<size_t>(dirs));
  for (size_t i = 0; i < names.size(); ++i)
    out[i / per_dir].push_back(make_activation(ctx, names[i], alphas, ai, betas, bi));
  return out;
}

// ---------------------------------------------------------------- shared setup

template <class T>
std::vector<compute_t<T>> widen_all(const Tensor* t) {
  std::vector<compute_t<T>> v;
  if (!t) return v;
  const T* p = t->data<T>();
  for (int64_t i = 0; i < t->numel(); ++i) v.push_back(widen(p[i]));
  return v;
}

// Inputs X, W, R, B, sequence_lens, initial_h (and LSTM's initial_c, P) checked and widened to
// the compute type C. `gates` is 1 (RNN), 3 (GRU) or 4 (LSTM).
template <class T>
struct Recurrence {
  using C = compute_t<T>;
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1, gates = 1;
  bool batch_major = false;
  bool reverse_only = false;  // direction "reverse"
  C clip = std::numeric_limits<C>::infinity();
  std::vector<int64_t> lens;
  std::vector<C> x, w, r, b, h0, c0, p;
  std::vector<std::vector<Activation>> act;

  Recurrence(const KernelContext& ctx, int64_t gates_, const std::vector<std::string>& dflt_act)
      : gates(gates_) {
    const Node& node = ctx.node();
    const Tensor& X = ctx.input(0);
    const Tensor& W = ctx.input(1);
    const Tensor& R = ctx.input(2);
    DType dt = X.dtype();
    for (size_t i = 1; i < ctx.num_inputs(); ++i)
      if (i != 4 && ctx.has_input(i))
        ctx.check(ctx.input(i).dtype() == dt, "input ", i, " has element type ",
                  dtype_name(ctx.input(i).dtype()), ", expected ", dtype_name(dt), " like X");
    batch_major = node.attr_int("layout", 0) != 0;
    ctx.check(X.rank() == 3, "X must have rank 3, got ", dims_str(X.dims()));
    seq = X.dim(batch_major ? 1 : 0);
    batch = X.dim(batch_major ? 0 : 1);
    input = X.dim(2);
    std::string direction = node.attr_string("direction", "forward");
    ctx.check(direction == "forward" || direction == "reverse" || direction == "bidirectional",
              "direction must be forward, reverse or bidirectional, got '", direction, "'");
    dirs = direction == "bidirectional" ? 2 : 1;
    reverse_only = direction == "reverse";
    ctx.check(R.rank() == 3, "R must have rank 3, got ", dims_str(R.dims()));
    hidden = node.attr_int("hidden_size", R.dim(2));
    auto expect = [&](const Tensor& t, const char* what, std::vector<int64_t> dims) {
      ctx.check(t.dims() == dims, what, " must have shape ", dims_str(dims), ", got ",
                dims_str(t.dims()));
    };
    expect(W, "W", {dirs, gates * hidden, input});
    expect(R, "R", {dirs, gates * hidden, hidden});
    x = widen_all<T>(&X);
    w = widen_all<T>(&W);
    r = widen_all<T>(&R);
    if (const Tensor* B = ctx.optional_input(3)) {
      expect(*B, "B", {dirs, 2 * gates * hidden});
      b = widen_all<T>(B);
    } else {
      b.assign(size_t(dirs * 2 * gates * hidden), C(0));
    }
    lens.assign(size_t(batch), seq);
    if (const Tensor* L = ctx.optional_input(4)) {
      expect(*L, "sequence_lens", {batch});
      ctx.check(is_integer(L->dtype()), "sequence_lens must be an integer tensor");
      for (int64_t i = 0; i < batch; ++i) {
        lens[size_t(i)] = L->as_int(i);
        ctx.check(lens[size_t(i)] >= 0 && lens[size_t(i)] <= seq, "sequence_lens[", i, "] = ",
                  lens[size_t(i)], " is outside [0, ", seq, "]");
      }
    }
    h0 = read_state(ctx, 5, "initial_h", state_dims());
    if (node.has_attr("clip")) {
      float c = node.attr_float("clip");
      ctx.check(c > 0, "clip must be positive, got ", c);
      clip = C(c);
    }
    act = activations(ctx, dirs, dflt_act);
  }

  // A state input in [dirs, batch, hidden] order (zeros if absent).
  std::vector<C> read_state(const KernelContext& ctx, size_t i, const char* what,
                            const std::vector<int64_t>& dims) {
    std::vector<C> s(static_cast<size_t>(dirs * batch * hidden), C(0));
    const Tensor* t = ctx.optional_input(i);
    if (!t) return s;
    ctx.check(t->dims() == dims, what, " must have shape ", dims_str(dims), ", got ",
              dims_str(t->dims()));
    std::vector<C> v = widen_all<T>(t);
    for (int64_t d = 0; d < dirs; ++d)
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t h = 0; h < hidden; ++h)
          s[size_t((d * batch + n) * hidden + h)] = v[size_t(state_index(d, n) * hidden + h)];
    return s;
  }

  bool reversed(int64_t d) const { return d == 1 || reverse_only; }
  const C* x_at(int64_t t, int64_t n) const {
    return x.data() + (batch_major ? n * seq + t : t * batch + n) * input;
  }
  // Row of Y for (time, direction, batch entry), and of Y_h / Y_c for (direction, batch entry).
  int64_t y_index(int64_t t, int64_t d, int64_t n) const {
    return batch_major ? (n * seq + t) * dirs + d : (t * dirs + d) * batch + n;
  }
  int64_t state_index(int64_t d, int64_t n) const {
    return batch_major ? n * dirs + d : d * batch + n;
  }
  std::vector<int64_t> y_dims() const {
    return batch_major ? std::vector<int64_t>{batch, seq, dirs, hidden}
                       : std::vector<int64_t>{seq, dirs, batch, hidden};
  }
  std::vector<int64_t> state_dims() const {
    return batch_major ? std::vector<int64_t>{batch, dirs, hidden}
                       : std::vector<int64_t>{dirs, batch, hidden};
  }
  C clipped(C v) const { return std::max(-clip, std::min(clip, v)); }

  // out[g] = sum_k m[row0 + g][k] * v[k] for g in [0, rows): one gate block of W or R.
  static void matvec(const C* m, int64_t rows, int64_t cols, const C* v, C* out) {
    for (int64_t i = 0; i < rows; ++i) {
      C s = 0;
      for (int64_t k = 0; k < cols; ++k) s += m[i * cols + k] * v[k];
      out[i] = s;
    }
  }

  // Runs `cell(d, x_t, h, c)` for every direction, batch entry and step in processing order,
  // with h (and c) the entry's state updated in place, and writes Y, Y_h and Y_c (if wanted).
  template <class Cell>
  void run(KernelContext& ctx, DType dt, bool has_cell_state, Cell cell) {
    std::vector<C> y(static_cast<size_t>(seq * dirs * batch * hidden), C(0));
    std::vector<C> yh(size_t(dirs * batch * hidden), C(0));
    std::vector<C> yc(size_t(dirs * batch * hidden), C(0));
    for (int64_t d = 0; d < dirs; ++d) {
      for (int64_t n = 0; n < batch; ++n) {
        std::vector<C> h(h0.begin() + (d * batch + n) * hidden,
                         h0.begin() + (d * batch + n + 1) * hidden);
        std::vector<C> c = has_cell_state
                               ? std::vector<C>(c0.begin() + (d * batch + n) * hidden,
                                                c0.begin() + (d * batch + n + 1) * hidden)
                               : std::vector<C>();
        int64_t len = lens[size_t(n)];
        for (int64_t s = 0; s < len; ++s) {
          int64_t t = reversed(d) ? len - 1 - s : s;
          cell(d, x_at(t, n), h, c);
          std::copy(h.begin(), h.end(), y.begin() + y_index(t, d, n) * hidden);
        }
        std::copy(h.begin(), h.end(), yh.begin() + state_index(d, n) * hidden);
        if (has_cell_state) std::copy(c.begin(), c.end(), yc.begin() + state_index(d, n) * hidden);
      }
    }
    auto emit = [&](size_t i, const std::vector<C>& v, std::vector<int64_t> dims) {
      if (!ctx.wants_output(i)) return;
      Tensor out(dt, std::move(dims));
      T* po = out.mutable_data<T>();
      for (size_t k = 0; k < v.size(); ++k) po[k] = narrow<T>(v[k]);
      ctx.set_output(i, std::move(out));
    };
    emit(0, y, y_dims());
    emit(1, yh, state_dims());
    if (has_cell_state) emit(2, yc, state_dims());
  }
};

// ---------------------------------------------------------------- RNN

// H = f(X W^T + H R^T + Wb + Rb)
void rnn_k(KernelContext& ctx) {
  visit_float(ctx, ctx.input(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = compute_t<T>;
    Recurrence<T> rc(ctx, 1, {"Tanh"});
    int64_t H = rc.hidden;
    std::vector<C> xw(static_cast<size_t>(H)), hr(static_cast<size_t>(H));
    auto cell = [&](int64_t d, const C* xt, std::vector<C>& h, std::vector<C>&) {
      const C* bias = rc.b.data() + d * 2 * H;
      rc.matvec(rc.w.data() + d * H * rc.input, H, rc.input, xt, xw.data());
      rc.matvec(rc.r.data() + d * H * H, H, H, h.data(), hr.data());
      for (int64_t j = 0; j < H; ++j)
        h[size_t(j)] = rc.act[size_t(d)][0](
            rc.clipped(xw[size_t(j)] + hr[size_t(j)] + bias[j] + bias[H + j]));
    };
    rc.run(ctx, ctx.input(0).dtype(), false, cell);
    return 0;
  });
}

// ---------------------------------------------------------------- GRU

// Gate order z, r, h. z = f(..), r = f(..),
// h~ = g(X Wh^T + (r . H) Rh^T + Rbh + Wbh)          (linear_before_reset = 0)
// h~ = g(X Wh^T + r . (H Rh^T + Rbh) + Wbh)          (linear_before_reset = 1)
// H' = (1 - z) . h~ + z . H
void gru_k(KernelContext& ctx) {
  bool lbr = ctx.node().attr_int("linear_before_reset", 0) != 0;
  visit_float(ctx, ctx.input(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = compute_t<T>;
    Recurrence<T> rc(ctx, 3, {"Sigmoid", "Tanh"});
    int64_t H = rc.hidden;
    std::vector<C> xw(size_t(3 * H)), hr(size_t(3 * H));
    std::vector<C> z(static_cast<size_t>(H)), r(static_cast<size_t>(H));
    std::vector<C> rh(static_cast<size_t>(H)), hr_h(static_cast<size_t>(H));
    auto cell = [&](int64_t d, const C* xt, std::vector<C>& h, std::vector<C>&) {
      const Activation& f = rc.act[size_t(d)][0];
      const Activation& g = rc.act[size_t(d)][1];
      const C* wb = rc.b.data() + d * 6 * H;
      const C* rb = wb + 3 * H;
      const C* rh_w = rc.r.data() + (d * 3 * H + 2 * H) * H;
      rc.matvec(rc.w.data() + d * 3 * H * rc.input, 3 * H, rc.input, xt, xw.data());
      rc.matvec(rc.r.data() + d * 3 * H * H, 3 * H, H, h.data(), hr.data());
      for (int64_t j = 0; j < H; ++j) {
        z[size_t(j)] = f(rc.clipped(xw[size_t(j)] + hr[size_t(j)] + wb[j] + rb[j]));
        r[size_t(j)] = f(rc.clipped(xw[size_t(H + j)] + hr[size_t(H + j)] + wb[H + j] + rb[H + j]));
        rh[size_t(j)] = r[size_t(j)] * h[size_t(j)];
      }
      if (!lbr) rc.matvec(rh_w, H, H, rh.data(), hr_h.data());
      for (int64_t j = 0; j < H; ++j) {
        size_t k = size_t(2 * H + j);
        C pre = lbr ? xw[k] + r[size_t(j)] * (hr[k] + rb[k]) + wb[k]
                    : xw[k] + hr_h[size_t(j)] + rb[k] + wb[k];
        C cand = g(rc.clipped(pre));
        h[size_t(j)] = (C(1) - z[size_t(j)]) * cand + z[size_t(j)] * h[size_t(j)];
      }
    };
    rc.run(ctx, ctx.input(0).dtype(), false, cell);
    return 0;
  });
}

// ---------------------------------------------------------------- LSTM

// Gate order i, o, f, c; peepholes P in order i, o, f.
// i = f(.. + Pi . C), f = f(.. + Pf . C) (or 1 - i with input_forget), c~ = g(..),
// C' = f . C + i . c~, o = f(.. + Po . C'), H' = o . h(C')
void lstm_k(KernelContext& ctx) {
  bool input_forget = ctx.node().attr_int("input_forget", 0) != 0;
  visit_float(ctx, ctx.input(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = compute_t<T>;
    Recurrence<T> rc(ctx, 4, {"Sigmoid", "Tanh", "Tanh"});
    int64_t H = rc.hidden;
    rc.c0 = rc.read_state(ctx, 6, "initial_c", rc.state_dims());
    if (const Tensor* P = ctx.optional_input(7)) {
      ctx.check(P->dims() == std::vector<int64_t>{rc.dirs, 3 * H}, "P must have shape ",
                dims_str(std::vector<int64_t>{rc.dirs, 3 * H}), ", got ", dims_str(P->dims()));
      rc.p = widen_all<T>(P);
    } else {
      rc.p.assign(size_t(rc.dirs * 3 * H), C(0));
    }
    std::vector<C> xw(size_t(4 * H)), hr(size_t(4 * H));
    auto cell = [&](int64_t d, const C* xt, std::vector<C>& h, std::vector<C>& c) {
      const Activation& f = rc.act[size_t(d)][0];
      const Activation& g = rc.act[size_t(d)][1];
      const Activation& hact = rc.act[size_t(d)][2];
      const C* wb = rc.b.data() + d * 8 * H;
      const C* rb = wb + 4 * H;
      const C* pi = rc.p.data() + d * 3 * H;
      const C* po = pi + H;
      const C* pf = pi + 2 * H;
      rc.matvec(rc.w.data() + d * 4 * H * rc.input, 4 * H, rc.input, xt, xw.data());
      rc.matvec(rc.r.data() + d * 4 * H * H, 4 * H, H, h.data(), hr.data());
      auto pre = [&](int64_t gate, int64_t j) {
        size_t k = size_t(gate * H + j);
        return xw[k] + hr[k] + wb[k] + rb[k];
      };
      for (int64_t j = 0; j < H; ++j) {
        C cj = c[size_t(j)];
        C i = f(rc.clipped(pre(0, j) + pi[j] * cj));
        C fg = input_forget ? C(1) - i : f(rc.clipped(pre(2, j) + pf[j] * cj));
        C cand = g(rc.clipped(pre(3, j)));
        C cn = fg * cj + i * cand;
        C o = f(rc.clipped(pre(1, j) + po[j] * cn));
        c[size_t(j)] = cn;
        h[size_t(j)] = o * hact(cn);
      }
    };
    rc.run(ctx, ctx.input(0).dtype(), true, cell);
    return 0;
  });
}

}  // namespace

void register_rnn_kernels(KernelRegistry& r) {
  r.add(OpKind::RNN, rnn_k);
  r.add(OpKind::GRU, gru_k);
  r.add(OpKind::LSTM, lstm_k);
}

}  // namespace eave::ref
