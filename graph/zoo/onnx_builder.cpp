#include "graph/zoo/onnx_builder.hpp"

#include <bit>
#include <cmath>
#include <cstdio>
#include <span>
#include <stdexcept>

#include "graph/zoo/random.hpp"
#include "support/error.hpp"

namespace sparoa::graph::zoo::detail {
namespace {

static_assert(std::endian::native == std::endian::little,
              "TensorProto.raw_data is little-endian: add a byte swap for big-endian hosts");

std::int64_t element_count(const Dims& dims) {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

// The float view of an initializer's raw_data, sized for its dims; the bytes are written in
// place so that a large weight exists once in memory.
std::span<float> float_storage(onnx::TensorProto& t, std::int64_t count) {
  std::string* raw = t.mutable_raw_data();
  raw->resize(static_cast<std::size_t>(count) * sizeof(float));
  return {reinterpret_cast<float*>(raw->data()), static_cast<std::size_t>(count)};
}

std::string format_sparsity(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", s);
  return text;
}

}  // namespace

OnnxBuilder::OnnxBuilder(const std::string& model_name, const std::string& description,
                         const Pruning& pruning, std::uint64_t seed)
    : graph_(model_.mutable_graph()), pruning_(pruning), seed_(seed) {
  model_.set_ir_version(8);
  auto* opset = model_.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  model_.set_producer_name("sparoa-zoo");
  model_.set_producer_version(kBuilderVersion);
  model_.set_doc_string(description);
  graph_->set_name(model_name);
  auto meta = [this](const std::string& key, const std::string& value) {
    auto* prop = model_.add_metadata_props();
    prop->set_key(key);
    prop->set_value(value);
  };
  meta("sparoa.zoo.model", model_name);
  meta("sparoa.zoo.seed", std::to_string(seed));
  meta("sparoa.zoo.sparsity", format_sparsity(pruning.sparsity));
  meta("sparoa.zoo.structured_2_4", pruning.structured_2_4 ? "true" : "false");
  meta("sparoa.zoo.builder_version", kBuilderVersion);
}

void OnnxBuilder::claim(const std::string& name) {
  if (!names_.insert(name).second) throw std::logic_error("zoo: duplicate name '" + name + "'");
}

void OnnxBuilder::set_value_info(onnx::ValueInfoProto& info, const std::string& name,
                                 onnx::TensorProto_DataType type, const Dims& dims) {
  info.set_name(name);
  auto* tensor_type = info.mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(type);
  auto* shape = tensor_type->mutable_shape();
  shape->add_dim()->set_dim_param("N");
  for (auto d : dims) shape->add_dim()->set_dim_value(d);
}

std::string OnnxBuilder::input(const std::string& name, onnx::TensorProto_DataType type,
                               const Dims& dims) {
  claim(name);
  set_value_info(*graph_->add_input(), name, type, dims);
  return name;
}

void OnnxBuilder::output(const std::string& tensor, onnx::TensorProto_DataType type,
                         const Dims& dims) {
  set_value_info(*graph_->add_output(), tensor, type, dims);
}

onnx::TensorProto& OnnxBuilder::new_initializer(const std::string& name,
                                                onnx::TensorProto_DataType type, const Dims& dims) {
  claim(name);
  auto* t = graph_->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (auto d : dims) t->add_dims(d);
  return *t;
}

std::string OnnxBuilder::weight(const std::string& name, const Dims& dims, std::int64_t fan_in,
                                const WeightLayout& layout) {
  auto& t = new_initializer(name, onnx::TensorProto_DataType_FLOAT, dims);
  auto values = float_storage(t, element_count(dims));
  const auto bound = static_cast<float>(std::sqrt(6.0 / static_cast<double>(fan_in)));
  auto rng = SplitMix64::for_tensor(seed_, name);
  for (float& v : values) v = bound * rng.symmetric_unit();
  prune(values, layout, pruning_);
  return name;
}

std::string OnnxBuilder::bias(const std::string& name, std::int64_t size, std::int64_t fan_in) {
  const auto bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in)));
  return uniform(name, {size}, -bound, bound);
}

std::string OnnxBuilder::uniform(const std::string& name, const Dims& dims, float lo, float hi) {
  auto& t = new_initializer(name, onnx::TensorProto_DataType_FLOAT, dims);
  auto values = float_storage(t, element_count(dims));
  const float mid = (lo + hi) / 2, half = (hi - lo) / 2;
  auto rng = SplitMix64::for_tensor(seed_, name);
  // std::fma is correctly rounded everywhere; a plain a*b+c may or may not be contracted.
  for (float& v : values) v = std::fma(half, rng.symmetric_unit(), mid);
  return name;
}

std::string OnnxBuilder::scalar(const std::string& name, float value) {
  if (names_.count(name)) return name;
  auto& t = new_initializer(name, onnx::TensorProto_DataType_FLOAT, {});
  t.add_float_data(value);
  return name;
}

std::string OnnxBuilder::scalar_i64(const std::string& name, std::int64_t value) {
  if (names_.count(name)) return name;
  auto& t = new_initializer(name, onnx::TensorProto_DataType_INT64, {});
  t.add_int64_data(value);
  return name;
}

std::string OnnxBuilder::ints(const std::string& name, const Ints& values) {
  if (names_.count(name)) return name;
  auto& t = new_initializer(name, onnx::TensorProto_DataType_INT64,
                            {static_cast<std::int64_t>(values.size())});
  for (auto v : values) t.add_int64_data(v);
  return name;
}

std::string OnnxBuilder::node(const std::string& op_type, const std::string& name,
                              const std::vector<std::string>& inputs,
                              const std::vector<Attribute>& attributes,
                              const std::string& output) {
  claim(name);
  const std::string& out = output.empty() ? name : output;
  if (!output.empty()) claim(output);
  auto* n = graph_->add_node();
  n->set_op_type(op_type);
  n->set_name(name);
  for (const auto& in : inputs) n->add_input(in);
  n->add_output(out);
  for (const auto& a : attributes) {
    auto* attr = n->add_attribute();
    attr->set_name(a.name);
    if (const auto* i = std::get_if<std::int64_t>(&a.value)) {
      attr->set_type(onnx::AttributeProto_AttributeType_INT);
      attr->set_i(*i);
    } else if (const auto* f = std::get_if<float>(&a.value)) {
      attr->set_type(onnx::AttributeProto_AttributeType_FLOAT);
      attr->set_f(*f);
    } else if (const auto* is = std::get_if<Ints>(&a.value)) {
      attr->set_type(onnx::AttributeProto_AttributeType_INTS);
      for (auto v : *is) attr->add_ints(v);
    } else {
      attr->set_type(onnx::AttributeProto_AttributeType_STRING);
      attr->set_s(std::get<std::string>(a.value));
    }
  }
  return out;
}

std::string OnnxBuilder::serialize() const {
  std::string bytes;
  if (!model_.SerializeToString(&bytes)) {
    throw Error("model '" + graph_->name() + "'", "cannot serialize (over protobuf's 2 GiB?)");
  }
  return bytes;
}

void OnnxBuilder::serialize_to(std::ostream& out) const {
  if (!model_.SerializeToOstream(&out)) {
    throw Error("model '" + graph_->name() + "'", "cannot serialize (over protobuf's 2 GiB, or disk full?)");
  }
}

}  // namespace sparoa::graph::zoo::detail
