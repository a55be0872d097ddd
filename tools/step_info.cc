#include "tools/step_info.h"

#include <cstring>

#include "runtime/src/artifact_format.h"
#include "runtime/src/expr.h"
#include "runtime/src/session.h"
#include "support/error.h"

namespace eave {

namespace {

template <class T>
T load(std::span<const uint8_t> b, uint64_t at, const char* what) {
  EAVE_CHECK(at <= b.size() && sizeof(T) <= b.size() - at, "STEP_INFO: ", what,
             " is past the end of the section");
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

uint64_t align8(uint64_t x) { return (x + 7) & ~uint64_t(7); }

}  // namespace

std::map<StepKey, StepInfo> read_step_info(std::span<const uint8_t> artifact) {
  std::map<StepKey, StepInfo> out;
  auto h = load<eave_file_header>(artifact, 0, "the file header");
  std::span<const uint8_t> s;
  for (uint32_t i = 0; i < h.section_count && i < EAVE_MAX_SECTIONS; ++i) {
    auto e = load<eave_section_entry>(
        artifact, h.section_table_offset + i * sizeof(eave_section_entry), "the section table");
    if (e.kind != EAVE_SECTION_STEP_INFO) continue;
    EAVE_CHECK(e.offset <= artifact.size() && e.size <= artifact.size() - e.offset,
               "STEP_INFO: the section is past the end of the file");
    s = artifact.subspan(e.offset, e.size);
    EAVE_CHECK(eave_artifact_hash(s.data(), s.size()) == e.checksum,
               "STEP_INFO: checksum mismatch (corrupt data)");
  }
  if (s.empty()) return out;
  auto head = load<eave_step_info_section>(s, 0, "the header");
  uint64_t entries = sizeof head;
  uint64_t nodes = align8(entries + uint64_t(head.entry_count) * sizeof(eave_step_info));
  uint64_t code = align8(nodes + uint64_t(head.node_count) * sizeof(eave_step_node));
  uint64_t strings = align8(code + head.code_size);
  EAVE_CHECK(strings <= s.size() && head.strings_size <= s.size() - strings,
             "STEP_INFO: tables are past the end of the section");
  auto str = [&](uint32_t off) {
    EAVE_CHECK(off < head.strings_size, "STEP_INFO: string offset out of range");
    const char* p = reinterpret_cast<const char*>(s.data() + strings + off);
    size_t n = strnlen(p, head.strings_size - off);
    EAVE_CHECK(n < head.strings_size - off, "STEP_INFO: unterminated string");
    return std::string(p, n);
  };
  for (uint32_t i = 0; i < head.entry_count; ++i) {
    auto e = load<eave_step_info>(s, entries + i * sizeof(eave_step_info), "an entry");
    StepInfo info;
    EAVE_CHECK(e.first_node <= head.node_count && e.node_count <= head.node_count - e.first_node,
               "STEP_INFO: node range out of range");
    for (uint32_t k = 0; k < e.node_count; ++k) {
      auto n =
          load<eave_step_node>(s, nodes + (e.first_node + k) * sizeof(eave_step_node), "a node");
      info.nodes.emplace_back(str(n.name), str(n.op_type));
    }
    EAVE_CHECK(e.flops <= head.code_size && e.flops_size <= head.code_size - e.flops,
               "STEP_INFO: code range out of range");
    info.flops_code.assign(s.data() + code + e.flops, s.data() + code + e.flops + e.flops_size);
    out[{e.program, e.step}] = std::move(info);
  }
  return out;
}

std::optional<double> step_flops(const StepInfo& info, const eave_session* session) {
  if (info.flops_code.empty()) return std::nullopt;
  const uint8_t* code = info.flops_code.data();
  size_t size = info.flops_code.size();
  // LOAD is not allowed here (value_count 0): the count depends on symbols only.
  if (eave_expr_check(code, size, session->model->symbol_count, 0, nullptr)) return std::nullopt;
  eave_expr_env env = {session->syms, session->defined, nullptr, nullptr, nullptr};
  int64_t v;
  char err[128];
  if (eave_expr_eval(code, size, &env, &v, err, sizeof err)) return std::nullopt;
  return double(v);
}

}  // namespace eave
