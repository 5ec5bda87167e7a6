#include "graph/onnx_wire.hpp"

#include <cstdint>

namespace sparoa::graph::detail {
namespace {

// Field numbers of onnx.proto (ONNX 1.12) that the walk needs.
constexpr std::uint32_t kModelGraph = 7;         // ModelProto.graph
constexpr std::uint32_t kGraphNode = 1;          // GraphProto.node
constexpr std::uint32_t kGraphInitializer = 5;   // GraphProto.initializer
constexpr std::uint32_t kTensorDataType = 2;     // TensorProto.data_type
constexpr std::uint32_t kTensorRawData = 9;      // TensorProto.raw_data
constexpr std::uint32_t kTensorDataLocation = 14;

enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

class Reader {
 public:
  Reader(std::string_view data, std::size_t base) : data_(data), base_(base) {}
  bool done() const { return pos_ >= data_.size(); }
  std::size_t pos() const { return pos_; }
  std::size_t absolute(std::size_t p) const { return base_ + p; }

  std::optional<std::uint64_t> varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
      const auto byte = static_cast<std::uint8_t>(data_[pos_++]);
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
    return std::nullopt;
  }

  // One field: its number, wire type, the whole field's bytes and, for length-delimited
  // fields, the payload and its offset.
  struct Field {
    std::uint32_t number = 0;
    std::uint32_t type = 0;
    std::uint64_t value = 0;  // varint value
    std::string_view whole;
    std::string_view payload;
    std::size_t payload_pos = 0;
  };
  std::optional<Field> field() {
    const std::size_t start = pos_;
    const auto tag = varint();
    if (!tag || (*tag >> 3) == 0 || (*tag >> 3) > 0x1fffffff) return std::nullopt;
    Field f;
    f.number = static_cast<std::uint32_t>(*tag >> 3);
    f.type = static_cast<std::uint32_t>(*tag & 7);
    switch (f.type) {
      case kVarint: {
        const auto v = varint();
        if (!v) return std::nullopt;
        f.value = *v;
        break;
      }
      case kFixed64: if (!skip(8)) return std::nullopt; break;
      case kFixed32: if (!skip(4)) return std::nullopt; break;
      case kLengthDelimited: {
        const auto len = varint();
        if (!len || *len > data_.size() - pos_) return std::nullopt;
        f.payload_pos = pos_;
        f.payload = data_.substr(pos_, static_cast<std::size_t>(*len));
        pos_ += static_cast<std::size_t>(*len);
        break;
      }
      default: return std::nullopt;  // groups: nothing ONNX writes
    }
    f.whole = data_.substr(start, pos_ - start);
    return f;
  }

 private:
  bool skip(std::size_t n) {
    if (n > data_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  std::string_view data_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_length_delimited(std::string& out, std::uint32_t number, std::string_view payload) {
  put_varint(out, (static_cast<std::uint64_t>(number) << 3) | kLengthDelimited);
  put_varint(out, payload.size());
  out.append(payload);
}

bool is_floating(std::uint64_t data_type) {
  // onnx.TensorProto.DataType: FLOAT 1, FLOAT16 10, DOUBLE 11, BFLOAT16 16
  return data_type == 1 || data_type == 10 || data_type == 11 || data_type == 16;
}

// Re-encodes one TensorProto; sets `slice` when its raw_data was taken out.
bool strip_tensor(std::string_view in, std::size_t base, std::size_t min_size, std::string& out,
                  std::optional<RawSlice>& slice) {
  // First pass: the element type and where the data lives (fields may come in any order).
  std::optional<std::uint64_t> data_type;
  bool external = false;
  int raw_fields = 0;
  {
    Reader r(in, base);
    while (!r.done()) {
      const auto f = r.field();
      if (!f) return false;
      if (f->number == kTensorDataType && f->type == kVarint) data_type = f->value;
      if (f->number == kTensorDataLocation && f->type == kVarint) external = f->value == 1;
      if (f->number == kTensorRawData) ++raw_fields;
    }
  }
  if (raw_fields > 1) return false;  // protobuf's "last one wins": leave it to protobuf
  const bool strip = data_type && is_floating(*data_type) && !external;
  Reader r(in, base);
  while (!r.done()) {
    const auto f = r.field();
    if (!f) return false;
    if (strip && f->number == kTensorRawData && f->type == kLengthDelimited && f->payload.size() >= min_size) {
      slice = RawSlice{r.absolute(f->payload_pos), f->payload.size()};
      put_length_delimited(out, kTensorRawData, std::string_view("\0", 1));
    } else {
      out.append(f->whole);
    }
  }
  return true;
}

bool strip_graph(std::string_view in, std::size_t base, std::size_t min_size, std::string& out,
                 std::vector<std::optional<RawSlice>>& slices, std::size_t& nodes) {
  Reader r(in, base);
  while (!r.done()) {
    const auto f = r.field();
    if (!f) return false;
    if (f->number == kGraphNode && f->type == kLengthDelimited) ++nodes;
    if (f->number == kGraphInitializer && f->type == kLengthDelimited) {
      std::string tensor;
      std::optional<RawSlice> slice;
      if (!strip_tensor(f->payload, r.absolute(f->payload_pos), min_size, tensor, slice)) return false;
      put_length_delimited(out, kGraphInitializer, tensor);
      slices.push_back(slice);
    } else {
      out.append(f->whole);
    }
  }
  return true;
}

}  // namespace

std::optional<StrippedModel> strip_initializer_data(std::string_view model, std::size_t min_size) {
  StrippedModel result;
  Reader r(model, 0);
  int graphs = 0;
  while (!r.done()) {
    const auto f = r.field();
    if (!f) return std::nullopt;
    if (f->number == kModelGraph && f->type == kLengthDelimited) {
      if (++graphs > 1) return std::nullopt;  // protobuf would merge them: let it
      std::string graph;
      if (!strip_graph(f->payload, f->payload_pos, min_size, graph, result.initializer_data, result.nodes)) {
        return std::nullopt;
      }
      put_length_delimited(result.bytes, kModelGraph, graph);
    } else {
      result.bytes.append(f->whole);
    }
  }
  return result;
}

}  // namespace sparoa::graph::detail
