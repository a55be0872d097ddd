#include "tools/conformance/conformance.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "import/onnx_importer.h"
#include "support/error.h"
#include "tools/progress.h"
#include "tools/tolerance.h"

namespace eave {

namespace fs = std::filesystem;

namespace {

struct Case {
  std::string suite;
  std::string name;
  fs::path dir;
};

bool is_random_op(OpKind k) {
  switch (k) {
    case OpKind::Bernoulli:
    case OpKind::RandomNormal:
    case OpKind::RandomNormalLike:
    case OpKind::RandomUniform:
    case OpKind::RandomUniformLike:
    case OpKind::Multinomial:
      return true;
    default:
      return false;
  }
}

// Why a case is out of scope (training or random ops), or empty.
std::string skip_reason(Graph& g) {
  std::string reason;
  walk_graphs(g, [&](Graph& sub) {
    for (const auto& n : sub.nodes()) {
      if (!reason.empty()) return;
      if (std::string(op_kind_domain(n->kind())) == "ai.onnx.preview.training")
        reason = "unsupported: training op " + n->op_type();
      else if (is_random_op(n->kind()))
        reason = "unsupported: random op " + n->op_type();
    }
  });
  return reason;
}

std::string lower_alnum(const std::string& s) {
  std::string out;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c))) out += char(std::tolower(c));
  return out;
}

// The op a case is filed under: the op type that best matches the case name, else the first.
std::string primary_op(const Graph& g, const std::string& case_name) {
  std::string key = lower_alnum(case_name.rfind("test_", 0) == 0 ? case_name.substr(5) : case_name);
  std::string best, first;
  for (const auto& n : g.nodes()) {
    if (first.empty()) first = n->op_type();
    std::string op = lower_alnum(n->op_type());
    if (key.rfind(op, 0) == 0 && op.size() > best.size()) best = n->op_type();
  }
  if (!best.empty()) return best;
  return first.empty() ? "(none)" : first;
}

std::vector<Case> list_cases(const ConformanceOptions& opts) {
  std::vector<Case> cases;
  std::optional<std::regex> re;
  if (!opts.filter.empty()) re.emplace(opts.filter);
  for (const auto& suite : opts.suites) {
    fs::path dir = fs::path(opts.data_dir) / suite;
    EAVE_CHECK(fs::is_directory(dir), "conformance suite '", suite, "' not found at ", dir.string(),
               " (install Debian's libonnx-testdata)");
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& d : dirs) {
      std::string name = d.filename().string();
      if (re && !std::regex_search(name, *re)) continue;
      cases.push_back({suite, name, d});
    }
  }
  return cases;
}

// ONNX 1.12's test data stores bfloat16 tensors as uint16 bit patterns.
void bf16_from_bits(ValueData& v) {
  if (v.is_tensor() && v.tensor.dtype() == DType::U16)
    v.tensor = Tensor(DType::BF16, v.tensor.dims(), v.tensor.storage(), v.tensor.byte_offset());
}

// Runs one case in this process. Fills status and message; never throws.
void run_case(const Case& c, ConformanceBackend& backend, CaseResult& r) {
  try {
    std::string model_path = (c.dir / "model.onnx").string();
    auto model = import_onnx_file(model_path);
    r.op = primary_op(*model->graph, c.name);
    if (std::string why = skip_reason(*model->graph); !why.empty()) {
      r.status = CaseStatus::Skipped;
      r.message = why;
      return;
    }
    const Graph& g = *model->graph;
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(c.dir))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
        sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    EAVE_CHECK(!sets.empty(), "no test_data_set_* folders");
    for (const auto& set : sets) {
      std::vector<ValueData> inputs(g.inputs().size());
      std::vector<bool> given(g.inputs().size(), false);
      for (size_t i = 0;; ++i) {
        fs::path f = set / ("input_" + std::to_string(i) + ".pb");
        if (!fs::exists(f)) break;
        std::string name = read_onnx_value_name(f.string());
        size_t slot = i;
        for (size_t k = 0; k < g.inputs().size(); ++k)
          if (!name.empty() && g.inputs()[k]->name() == name) slot = k;
        EAVE_CHECK(slot < g.inputs().size(), "test input ", i, " has no matching graph input");
        inputs[slot] = read_onnx_value_file(f.string(), g.inputs()[slot]->type());
        if (g.inputs()[slot]->dtype() == DType::BF16) bf16_from_bits(inputs[slot]);
        given[slot] = true;
      }
      for (size_t k = 0; k < inputs.size(); ++k)
        if (!given[k]) inputs[k] = ValueData::none(g.inputs()[k]->type());
      std::vector<ValueData> got = backend.run(model_path, *model, inputs);
      EAVE_CHECK(got.size() == g.outputs().size(), "backend returned ", got.size(),
                 " outputs, the graph has ", g.outputs().size());
      for (size_t i = 0; i < g.outputs().size(); ++i) {
        fs::path f = set / ("output_" + std::to_string(i) + ".pb");
        if (!fs::exists(f)) continue;
        ValueData want = read_onnx_value_file(f.string(), g.outputs()[i]->type());
        if (got[i].is_tensor() && got[i].tensor.dtype() == DType::BF16) bf16_from_bits(want);
        std::string diff = compare_values(got[i], want, kConformanceTolerance);
        EAVE_CHECK(diff.empty(), "output ", i, " ('", g.outputs()[i]->name(), "') ", diff);
      }
    }
    r.status = CaseStatus::Passed;
  } catch (const std::exception& e) {
    r.status = CaseStatus::Failed;
    r.message = e.what();
  }
}

struct Running {
  pid_t pid;
  int fd;
  size_t index;
  std::chrono::steady_clock::time_point start;
  std::string buffer;
};

// Result wire format from child to parent: "<status digit>\n<op>\n<message>".
std::string encode(const CaseResult& r) {
  return std::to_string(int(r.status)) + "\n" + r.op + "\n" + r.message;
}

void decode(const std::string& s, CaseResult& r) {
  size_t a = s.find('\n');
  size_t b = a == std::string::npos ? a : s.find('\n', a + 1);
  if (a == std::string::npos || b == std::string::npos) {
    r.status = CaseStatus::Failed;
    r.message = "case process produced no result";
    return;
  }
  r.status = CaseStatus(std::stoi(s.substr(0, a)));
  r.op = s.substr(a + 1, b - a - 1);
  r.message = s.substr(b + 1);
}

}  // namespace

const std::vector<std::string>& conformance_suites() {
  static const std::vector<std::string> s = {"node", "simple", "pytorch-converted",
                                             "pytorch-operator"};
  return s;
}

std::vector<CaseResult> run_conformance(
    const ConformanceOptions& opts,
    const std::function<std::unique_ptr<ConformanceBackend>()>& make_backend) {
  std::vector<Case> cases = list_cases(opts);
  std::vector<CaseResult> results(cases.size());
  int jobs = opts.jobs > 0 ? opts.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<Running> running;
  size_t next = 0, done = 0;
  Progress progress(opts.progress);
  std::fflush(stdout);
  std::fflush(stderr);
  while (done < cases.size()) {
    while (int(running.size()) < jobs && next < cases.size()) {
      size_t i = next++;
      results[i].suite = cases[i].suite;
      results[i].name = cases[i].name;
      int fds[2];
      if (pipe(fds) != 0) internal_fail("pipe failed: ", std::strerror(errno));
      pid_t pid = fork();
      if (pid < 0) internal_fail("fork failed: ", std::strerror(errno));
      if (pid == 0) {
        close(fds[0]);
        CaseResult r;
        try {
          auto backend = make_backend();
          run_case(cases[i], *backend, r);
        } catch (const std::exception& e) {
          r.status = CaseStatus::Failed;
          r.message = e.what();
        }
        std::string out = encode(r);
        size_t off = 0;
        while (off < out.size()) {
          ssize_t w = write(fds[1], out.data() + off, out.size() - off);
          if (w <= 0) break;
          off += size_t(w);
        }
        _exit(0);
      }
      close(fds[1]);
      running.push_back({pid, fds[0], i, std::chrono::steady_clock::now(), {}});
    }
    std::vector<pollfd> pfds;
    for (const auto& r : running) pfds.push_back({r.fd, POLLIN, 0});
    poll(pfds.data(), pfds.size(), 200);
    auto now = std::chrono::steady_clock::now();
    for (size_t k = 0; k < running.size();) {
      Running& r = running[k];
      bool finished = false;
      if (pfds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[4096];
        ssize_t n = read(r.fd, buf, sizeof buf);
        if (n > 0) r.buffer.append(buf, size_t(n));
        else finished = true;
      }
      double elapsed = std::chrono::duration<double>(now - r.start).count();
      CaseResult& res = results[r.index];
      if (!finished && elapsed > opts.timeout_s) {
        kill(r.pid, SIGKILL);
        finished = true;
        r.buffer = std::to_string(int(CaseStatus::Failed)) + "\n\ntimed out after " +
                   std::to_string(int(opts.timeout_s)) + " s";
      }
      if (!finished) {
        ++k;
        continue;
      }
      int status = 0;
      waitpid(r.pid, &status, 0);
      close(r.fd);
      decode(r.buffer, res);
      if (WIFSIGNALED(status) && r.buffer.empty())
        res.message = std::string("crashed: ") + strsignal(WTERMSIG(status));
      res.seconds = elapsed;
      ++done;
      progress.update("conformance", done, cases.size(), res.name);
      pfds.erase(pfds.begin() + long(k));
      running.erase(running.begin() + long(k));
    }
  }
  progress.clear();
  return results;
}

std::string conformance_report(const std::vector<CaseResult>& results, bool list_failures) {
  struct Counts {
    int passed = 0, failed = 0, skipped = 0;
  };
  std::map<std::string, Counts> by_op;
  Counts total;
  for (const auto& r : results) {
    Counts& c = by_op[r.op.empty() ? "(import failed)" : r.op];
    switch (r.status) {
      case CaseStatus::Passed: ++c.passed; ++total.passed; break;
      case CaseStatus::Failed: ++c.failed; ++total.failed; break;
      case CaseStatus::Skipped: ++c.skipped; ++total.skipped; break;
    }
  }
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-32s %7s %7s %7s\n", "op", "passed", "failed", "skipped");
  os << line;
  for (const auto& [op, c] : by_op) {
    std::snprintf(line, sizeof line, "%-32s %7d %7d %7d\n", op.c_str(), c.passed, c.failed,
                  c.skipped);
    os << line;
  }
  if (list_failures) {
    os << "\n";
    for (const auto& r : results)
      if (r.status == CaseStatus::Failed) os << "FAIL " << r.suite << "/" << r.name << ": " << r.message << "\n";
  }
  os << "conformance: " << total.passed << " passed, " << total.failed << " failed, "
     << total.skipped << " skipped\n";
  return os.str();
}

namespace {

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += c;
        }
    }
  }
  return o;
}

}  // namespace

std::string conformance_json(const std::vector<CaseResult>& results, const std::string& backend) {
  int p = 0, f = 0, s = 0;
  std::ostringstream os;
  os << "{\n  \"backend\": \"" << json_escape(backend) << "\",\n  \"cases\": [\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const char* st = r.status == CaseStatus::Passed ? "passed" : r.status == CaseStatus::Failed ? "failed" : "skipped";
    p += r.status == CaseStatus::Passed;
    f += r.status == CaseStatus::Failed;
    s += r.status == CaseStatus::Skipped;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f", r.seconds);
    os << "    {\"suite\": \"" << json_escape(r.suite) << "\", \"name\": \"" << json_escape(r.name)
       << "\", \"op\": \"" << json_escape(r.op) << "\", \"status\": \"" << st
       << "\", \"seconds\": " << secs << ", \"message\": \"" << json_escape(r.message) << "\"}"
       << (i + 1 < results.size() ? ",\n" : "\n");
  }
  os << "  ],\n  \"passed\": " << p << ",\n  \"failed\": " << f << ",\n  \"skipped\": " << s
     << "\n}\n";
  return os.str();
}

}  // namespace eave
