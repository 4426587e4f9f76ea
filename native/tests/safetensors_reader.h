// A minimal safetensors reader for the C++ tests (an 8-byte header length, a JSON header, raw
// tensor bytes): enough for the reference fits that python-export/refs/ writes.
#pragma once
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace oneclass::testing {

struct Json {
  enum Kind { Null, Number, String, Array, Object } kind = Null;
  double number = 0;
  std::string text;
  std::vector<Json> items;
  std::map<std::string, Json> fields;
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}
  Json parse() {
    Json v = value();
    ws();
    if (p_ != s_.size()) throw std::runtime_error("trailing characters in JSON header");
    return v;
  }

 private:
  void ws() {
    while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
  }
  char peek() {
    ws();
    if (p_ >= s_.size()) throw std::runtime_error("truncated JSON header");
    return s_[p_];
  }
  void expect(char c) {
    if (peek() != c) throw std::runtime_error(std::string("JSON: expected ") + c);
    ++p_;
  }
  std::string str() {
    expect('"');
    std::string out;
    while (p_ < s_.size() && s_[p_] != '"') {
      if (s_[p_] == '\\') {
        ++p_;
        char e = s_[p_];
        if (e == 'n')
          out += '\n';
        else if (e == 't')
          out += '\t';
        else if (e == 'u') {
          out += '?';
          p_ += 4;
        }  // not needed for our headers
        else
          out += e;
        ++p_;
      } else {
        out += s_[p_++];
      }
    }
    ++p_;
    return out;
  }
  Json value() {
    Json v;
    char c = peek();
    if (c == '{') {
      v.kind = Json::Object;
      ++p_;
      if (peek() == '}') {
        ++p_;
        return v;
      }
      for (;;) {
        std::string key = str();
        expect(':');
        v.fields[key] = value();
        if (peek() == ',') {
          ++p_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Json::Array;
      ++p_;
      if (peek() == ']') {
        ++p_;
        return v;
      }
      for (;;) {
        v.items.push_back(value());
        if (peek() == ',') {
          ++p_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Json::String;
      v.text = str();
      return v;
    }
    size_t end = p_;
    while (end < s_.size() && std::strchr("+-0123456789.eE", s_[end])) ++end;
    if (end == p_) throw std::runtime_error("JSON: unexpected character");
    v.kind = Json::Number;
    v.number = std::stod(s_.substr(p_, end - p_));
    p_ = end;
    return v;
  }
  const std::string& s_;
  size_t p_ = 0;
};

struct Tensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
  int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
  int64_t cols() const { return shape.size() < 2 ? 1 : shape[1]; }
  template <typename T>
  std::vector<T> as(const char* want) const {
    if (dtype != want) throw std::runtime_error("unexpected dtype " + dtype + ", wanted " + want);
    std::vector<T> out(bytes.size() / sizeof(T));
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
};

struct Fixture {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> meta;
  double num(const std::string& key) const { return std::stod(meta.at(key)); }
};

inline Fixture readSafetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::vector<char> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (data.size() < 8) throw std::runtime_error("short file " + path);
  uint64_t n = 0;
  for (int b = 7; b >= 0; --b) n = (n << 8) | static_cast<unsigned char>(data[b]);
  if (8 + n > data.size()) throw std::runtime_error("bad header length in " + path);
  std::string header(data.data() + 8, n);
  Json root = JsonParser(header).parse();
  Fixture fx;
  for (auto& [name, info] : root.fields) {
    if (name == "__metadata__") {
      for (auto& [k, v] : info.fields) fx.meta[k] = v.text;
      continue;
    }
    Tensor t;
    t.dtype = info.fields.at("dtype").text;
    for (auto& d : info.fields.at("shape").items) t.shape.push_back(int64_t(d.number));
    auto& off = info.fields.at("data_offsets").items;
    size_t a = size_t(off.at(0).number), b = size_t(off.at(1).number);
    if (8 + n + b > data.size() || a > b) throw std::runtime_error("bad offsets in " + path);
    t.bytes.assign(data.begin() + 8 + n + a, data.begin() + 8 + n + b);
    fx.tensors[name] = std::move(t);
  }
  return fx;
}

// The fixtures folder of a test program: its first argument, else $ONECLASS_FIXTURES, else
// test/fixtures (the tests run from the repository root).
inline std::string fixturesRoot(int argc, char** argv) {
  if (argc > 1) return argv[1];
  const char* env = std::getenv("ONECLASS_FIXTURES");
  return env ? env : "test/fixtures";
}

// The .safetensors files in `dir`, sorted by name (none when the folder is missing).
inline std::vector<std::filesystem::path> fixtureFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(dir))
    for (auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".safetensors") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace oneclass::testing
