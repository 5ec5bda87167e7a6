#include "policies/nn/checkpoint.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "support/read_file.hpp"
#include "support/sha256.hpp"

namespace sparoa::policies::nn {
namespace {

constexpr char kMagic[8] = {'S', 'P', 'A', 'R', 'O', 'A', 'N', 'N'};

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof v);
  out.append(b, sizeof v);
}
void put_string(std::string& out, const std::string& s) {
  put<std::uint32_t>(out, std::uint32_t(s.size()));
  out += s;
}

class Reader {
 public:
  Reader(const std::string& bytes, std::string origin) : b_(bytes), origin_(std::move(origin)) {}
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string get_string(const char* what) {
    const auto n = get<std::uint32_t>(what);
    need(n, what);
    std::string s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void need(std::size_t n, const char* what) {
    if (n > b_.size() - pos_) throw Error(origin_, std::string("truncated checkpoint (while reading ") + what + ")");
  }
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return b_.size() - pos_; }

 private:
  const std::string& b_;
  std::string origin_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string checkpoint_bytes(const std::string& kind, const std::string& meta, const std::vector<Param*>& params) {
  std::string payload;
  put_string(payload, kind);
  put_string(payload, meta);
  put<std::uint32_t>(payload, std::uint32_t(params.size()));
  for (const Param* p : params) {
    put_string(payload, p->name);
    put<std::uint32_t>(payload, std::uint32_t(p->value.rows()));
    put<std::uint32_t>(payload, std::uint32_t(p->value.cols()));
    for (Eigen::Index r = 0; r < p->value.rows(); ++r) {
      for (Eigen::Index c = 0; c < p->value.cols(); ++c) put<double>(payload, p->value(r, c));
    }
  }
  std::string out(kMagic, sizeof kMagic);
  put<std::uint32_t>(out, kCheckpointVersion);
  put<std::uint64_t>(out, payload.size());
  out += payload;
  out += sha256_hex(payload);
  return out;
}

void save_checkpoint(const std::filesystem::path& path, const std::string& kind, const std::string& meta,
                     const std::vector<Param*>& params) {
  write_file_atomically(path, checkpoint_bytes(kind, meta, params));
}

Checkpoint parse_checkpoint(const std::string& bytes, const std::string& origin) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw Error(origin, "not a sparoa network checkpoint (bad magic)");
  }
  Reader r(bytes, origin);
  r.get<std::uint64_t>("magic");  // 8 bytes
  const auto version = r.get<std::uint32_t>("version");
  if (version != kCheckpointVersion) {
    throw Error(origin, "checkpoint format version " + std::to_string(version) + ", this build reads version " +
                            std::to_string(kCheckpointVersion));
  }
  const auto length = r.get<std::uint64_t>("payload length");
  if (length > r.left() || r.left() - length != 64) {
    throw Error(origin, "truncated or padded checkpoint (payload length does not match the file size)");
  }
  const std::string payload = bytes.substr(r.pos(), std::size_t(length));
  if (sha256_hex(payload) != bytes.substr(r.pos() + std::size_t(length))) {
    throw Error(origin, "checkpoint checksum mismatch: the file is corrupted");
  }
  Reader p(payload, origin);
  Checkpoint c;
  c.kind = p.get_string("kind");
  c.meta = p.get_string("metadata");
  const auto count = p.get<std::uint32_t>("tensor count");
  for (std::uint32_t k = 0; k < count; ++k) {
    std::string name = p.get_string("tensor name");
    const auto rows = p.get<std::uint32_t>("rows"), cols = p.get<std::uint32_t>("cols");
    if (std::uint64_t(rows) * cols > p.left() / sizeof(double)) throw Error(origin, "truncated tensor '" + name + "'");
    Matrix m(rows, cols);
    // An empty matrix reads nothing: no loop over 2^32 empty rows (found by fuzz/targets/nn_checkpoint).
    if (rows != 0 && cols != 0) {
      for (std::uint32_t i = 0; i < rows; ++i) {
        for (std::uint32_t j = 0; j < cols; ++j) m(i, j) = p.get<double>("values");
      }
    }
    c.tensors.emplace_back(std::move(name), std::move(m));
  }
  if (p.left() != 0) throw Error(origin, "trailing bytes inside the checkpoint payload");
  return c;
}

Checkpoint read_checkpoint(const std::filesystem::path& path) {
  return parse_checkpoint(read_text_file(path, kMaxCheckpointBytes, "checkpoint"), path.string());
}

void load_params(const Checkpoint& c, const std::vector<Param*>& params, const std::string& origin) {
  if (c.tensors.size() != params.size()) {
    throw Error(origin, "checkpoint holds " + std::to_string(c.tensors.size()) + " tensors, the network has " +
                            std::to_string(params.size()));
  }
  for (std::size_t k = 0; k < params.size(); ++k) {
    const auto& [name, m] = c.tensors[k];
    Param& p = *params[k];
    if (name != p.name) throw Error(origin, "tensor " + std::to_string(k) + " is '" + name + "', expected '" + p.name + "'");
    if (m.rows() != p.value.rows() || m.cols() != p.value.cols()) {
      throw Error(origin, "tensor '" + name + "' is " + std::to_string(m.rows()) + "x" + std::to_string(m.cols()) +
                              ", the network's is " + std::to_string(p.value.rows()) + "x" +
                              std::to_string(p.value.cols()));
    }
  }
  for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = c.tensors[k].second;
}

}  // namespace sparoa::policies::nn
