#include "onnx_test_models.hpp"

#include <filesystem>
#include <fstream>

namespace sparoa::test {

ModelBuilder::ModelBuilder(std::int64_t opset) {
  model_.set_ir_version(8);
  model_.set_producer_name("sparoa-tests");
  auto* o = model_.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  model_.mutable_graph()->set_name("test");
}

ModelBuilder& ModelBuilder::input(const std::string& name, std::vector<std::int64_t> dims, int dtype) {
  auto* in = model_.mutable_graph()->add_input();
  in->set_name(name);
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype);
  auto* shape = tt->mutable_shape();
  for (auto d : dims) {
    auto* dim = shape->add_dim();
    if (d < 0) dim->set_dim_param("N");
    else dim->set_dim_value(d);
  }
  return *this;
}

ModelBuilder& ModelBuilder::output(const std::string& name, int rank, int dtype) {
  auto* out = model_.mutable_graph()->add_output();
  out->set_name(name);
  // ONNX 1.12's checker wants a typed, ranked output; the dimensions may stay unknown.
  auto* tt = out->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype);
  auto* shape = tt->mutable_shape();
  for (int i = 0; i < rank; ++i) shape->add_dim();
  return *this;
}

ModelBuilder& ModelBuilder::weight(const std::string& name, std::vector<std::int64_t> dims, std::vector<float> values) {
  auto* t = model_.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return *this;
}

ModelBuilder& ModelBuilder::ints(const std::string& name, std::vector<std::int64_t> dims, std::vector<std::int64_t> values) {
  auto* t = model_.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  for (auto d : dims) t->add_dims(d);
  for (auto v : values) t->add_int64_data(v);
  return *this;
}

onnx::NodeProto& ModelBuilder::node(const std::string& type, std::vector<std::string> inputs,
                                    std::vector<std::string> outputs, const std::string& name) {
  auto* n = model_.mutable_graph()->add_node();
  n->set_op_type(type);
  n->set_name(name.empty() ? outputs.at(0) + "_node" : name);
  for (auto& i : inputs) n->add_input(i);
  for (auto& o : outputs) n->add_output(o);
  return *n;
}

void ModelBuilder::attr(onnx::NodeProto& n, const std::string& key, std::int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void ModelBuilder::attr(onnx::NodeProto& n, const std::string& key, std::vector<std::int64_t> v) {
  auto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

void ModelBuilder::attr(onnx::NodeProto& n, const std::string& key, float v) {
  auto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

void ModelBuilder::attr(onnx::NodeProto& n, const std::string& key, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

std::string ModelBuilder::bytes() const { return model_.SerializeAsString(); }

std::string ModelBuilder::save(const std::string& file) const {
  const auto dir = std::filesystem::path(SPAROA_TEST_DATA_DIR) / "graph_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / file;
  std::ofstream(path, std::ios::binary) << bytes();
  return path.string();
}

ModelBuilder small_cnn(std::int64_t batch, float zero_fraction) {
  ModelBuilder b;
  b.input("x", {batch, 3, 8, 8});
  std::vector<float> w(8 * 3 * 3 * 3);
  const auto zeros = static_cast<std::size_t>(zero_fraction * static_cast<float>(w.size()));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = i < zeros ? 0.0f : 0.01f * static_cast<float>(i + 1);
  b.weight("conv.w", {8, 3, 3, 3}, w);
  b.weight("conv.b", {8}, std::vector<float>(8, 0.1f));
  for (const char* n : {"bn.scale", "bn.bias", "bn.mean"}) b.weight(n, {8}, std::vector<float>(8, 0.5f));
  b.weight("bn.var", {8}, std::vector<float>(8, 1.0f));
  b.weight("fc.w", {4, 8}, std::vector<float>(32, 0.25f));
  b.weight("fc.b", {4}, std::vector<float>(4, 0.0f));
  auto& conv = b.node("Conv", {"x", "conv.w", "conv.b"}, {"c"}, "conv");
  ModelBuilder::attr(conv, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
  ModelBuilder::attr(conv, "kernel_shape", std::vector<std::int64_t>{3, 3});
  b.node("BatchNormalization", {"c", "bn.scale", "bn.bias", "bn.mean", "bn.var"}, {"n"}, "bn");
  b.node("Relu", {"n"}, {"r"}, "relu");
  b.node("GlobalAveragePool", {"r"}, {"p"}, "pool");
  b.node("Flatten", {"p"}, {"f"}, "flatten");
  auto& fc = b.node("Gemm", {"f", "fc.w", "fc.b"}, {"y"}, "fc");
  ModelBuilder::attr(fc, "transB", std::int64_t{1});
  b.output("y", 2);
  return b;
}

}  // namespace sparoa::test
