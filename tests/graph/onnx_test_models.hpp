#pragma once
// Small ONNX models built in code for the importer's tests, good and deliberately broken.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sparoa::test {

class ModelBuilder {
 public:
  explicit ModelBuilder(std::int64_t opset = 17);
  // An input; a negative dimension is symbolic ("N").
  ModelBuilder& input(const std::string& name, std::vector<std::int64_t> dims, int dtype = onnx::TensorProto::FLOAT);
  ModelBuilder& output(const std::string& name, int rank, int dtype = onnx::TensorProto::FLOAT);
  ModelBuilder& weight(const std::string& name, std::vector<std::int64_t> dims, std::vector<float> values);
  ModelBuilder& ints(const std::string& name, std::vector<std::int64_t> dims, std::vector<std::int64_t> values);
  onnx::NodeProto& node(const std::string& type, std::vector<std::string> inputs, std::vector<std::string> outputs,
                        const std::string& name = "");
  static void attr(onnx::NodeProto& n, const std::string& key, std::int64_t v);
  static void attr(onnx::NodeProto& n, const std::string& key, std::vector<std::int64_t> v);
  static void attr(onnx::NodeProto& n, const std::string& key, float v);
  static void attr(onnx::NodeProto& n, const std::string& key, const std::string& v);
  onnx::ModelProto& model() { return model_; }
  std::string bytes() const;
  // Writes to SPAROA_TEST_DATA_DIR/<file> and returns the path.
  std::string save(const std::string& file) const;

 private:
  onnx::ModelProto model_;
};

// Conv(3->8, 3x3, pad 1) -> BatchNormalization -> Relu -> GlobalAveragePool -> Flatten -> Gemm(8->4).
ModelBuilder small_cnn(std::int64_t batch = -1, float zero_fraction = 0);

}  // namespace sparoa::test
