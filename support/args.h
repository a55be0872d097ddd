// A small command-line parser for eave's subcommands: --name VALUE, --name=VALUE, boolean
// flags, repeatable options and positionals, with generated --help text that ends in examples.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace eave {

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);

  void flag(const std::string& name, bool* out, const std::string& help);
  void option(const std::string& name, std::string* out, const std::string& help,
              const std::string& metavar = "VALUE");
  void option(const std::string& name, int64_t* out, const std::string& help,
              const std::string& metavar = "N");
  void repeated(const std::string& name, std::vector<std::string>* out, const std::string& help,
                const std::string& metavar = "VALUE");
  void positional(const std::string& name, std::string* out, const std::string& help,
                  bool required = true);
  void example(const std::string& line) { examples_.push_back(line); }

  // Parses argv[first..argc). On --help prints help to stdout and returns false (the caller
  // exits 0). Unknown options and missing positionals are Errors that name them.
  bool parse(int argc, char** argv, int first = 1);
  std::string help() const;

 private:
  struct Opt {
    std::string name;
    std::string metavar;
    std::string help;
    std::function<void(const std::string&)> set;
    bool takes_value;
  };
  struct Pos {
    std::string name;
    std::string help;
    std::string* out;
    bool required;
  };
  std::string command_;
  std::string summary_;
  std::vector<Opt> opts_;
  std::vector<Pos> pos_;
  std::vector<std::string> examples_;
};

// "NAME=VALUE" split at the first '='; an Error mentioning `what` if there is none.
std::pair<std::string, std::string> split_assignment(const std::string& s, const std::string& what);

}  // namespace eave
