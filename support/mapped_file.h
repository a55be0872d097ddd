// Read-only memory-mapped files: how weights and models are read without copying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace eave {

class MappedFile {
 public:
  // Maps the whole file read-only. Throws Error naming the path if it cannot be opened.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Reads a whole file into a string; Error naming the path on failure.
std::string read_file(const std::string& path);
// Writes bytes to a file atomically (temporary file, then rename); Error on failure.
void write_file(const std::string& path, std::string_view bytes);

}  // namespace eave
