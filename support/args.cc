#include "support/args.h"

#include <cstdio>
#include <cstdlib>

#include "support/error.h"

namespace eave {

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void ArgParser::flag(const std::string& name, bool* out, const std::string& help) {
  opts_.push_back({name, "", help, [out](const std::string&) { *out = true; }, false});
}

void ArgParser::option(const std::string& name, std::string* out, const std::string& help,
                       const std::string& metavar) {
  opts_.push_back({name, metavar, help, [out](const std::string& v) { *out = v; }, true});
}

void ArgParser::option(const std::string& name, int64_t* out, const std::string& help,
                       const std::string& metavar) {
  opts_.push_back({name, metavar, help,
                   [out, name](const std::string& v) {
                     char* end = nullptr;
                     long long x = std::strtoll(v.c_str(), &end, 10);
                     EAVE_CHECK(end && *end == 0 && !v.empty(), "option ", name,
                                " expects an integer, got '", v, "'");
                     *out = x;
                   },
                   true});
}

void ArgParser::repeated(const std::string& name, std::vector<std::string>* out,
                         const std::string& help, const std::string& metavar) {
  opts_.push_back({name, metavar, help, [out](const std::string& v) { out->push_back(v); }, true});
}

void ArgParser::positional(const std::string& name, std::string* out, const std::string& help,
                           bool required) {
  pos_.push_back({name, help, out, required});
}

bool ArgParser::parse(int argc, char** argv, int first) {
  size_t next_pos = 0;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(help().c_str(), stdout);
      return false;
    }
    if (a.size() > 1 && a[0] == '-' && !(a.size() > 1 && (a[1] >= '0' && a[1] <= '9'))) {
      std::string name = a, value;
      bool has_value = false;
      if (auto eq = a.find('='); eq != std::string::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        has_value = true;
      }
      const Opt* opt = nullptr;
      for (const auto& o : opts_)
        if (o.name == name) opt = &o;
      EAVE_CHECK(opt, "eave ", command_, ": unknown option '", name, "' (see --help)");
      if (opt->takes_value && !has_value) {
        EAVE_CHECK(i + 1 < argc, "eave ", command_, ": option ", name, " needs a value");
        value = argv[++i];
      }
      EAVE_CHECK(opt->takes_value || !has_value, "eave ", command_, ": option ", name,
                 " takes no value");
      opt->set(value);
      continue;
    }
    EAVE_CHECK(next_pos < pos_.size(), "eave ", command_, ": unexpected argument '", a,
               "' (see --help)");
    *pos_[next_pos++].out = a;
  }
  for (size_t k = next_pos; k < pos_.size(); ++k)
    EAVE_CHECK(!pos_[k].required, "eave ", command_, ": missing ", pos_[k].name,
               " (see --help)");
  return true;
}

std::string ArgParser::help() const {
  std::string s = "usage: eave " + command_;
  for (const auto& p : pos_) s += p.required ? " " + p.name : " [" + p.name + "]";
  if (!opts_.empty()) s += " [options]";
  s += "\n\n" + summary_ + "\n";
  if (!pos_.empty()) {
    s += "\narguments:\n";
    for (const auto& p : pos_) s += "  " + p.name + std::string(p.name.size() < 26 ? 26 - p.name.size() : 1, ' ') + p.help + "\n";
  }
  s += "\noptions:\n";
  for (const auto& o : opts_) {
    std::string left = o.name + (o.takes_value ? " " + o.metavar : "");
    s += "  " + left + std::string(left.size() < 26 ? 26 - left.size() : 1, ' ') + o.help + "\n";
  }
  s += "  --help                    show this help\n";
  if (!examples_.empty()) {
    s += "\nexamples:\n";
    for (const auto& e : examples_) s += "  " + e + "\n";
  }
  return s;
}

std::pair<std::string, std::string> split_assignment(const std::string& s,
                                                     const std::string& what) {
  auto eq = s.find('=');
  EAVE_CHECK(eq != std::string::npos && eq > 0, what, " must look like NAME=VALUE, got '", s, "'");
  return {s.substr(0, eq), s.substr(eq + 1)};
}

}  // namespace eave
