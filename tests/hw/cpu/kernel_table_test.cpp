// The kernel table covers every operator type the importer supports, names a sparse kernel
// exactly for the types graph::kernels_for offers one, and hw/README.md shows it as it is.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "graph/onnx_import.hpp"
#include "hw/cpu/cpu_kernel.hpp"

namespace sparoa::hw {
namespace {

TEST(KernelTable, EverySupportedTypeHasOneRow) {
  std::set<std::string> rows;
  for (const auto& r : cpu_kernel_table()) {
    EXPECT_TRUE(rows.insert(r.op_type).second) << r.op_type << " twice";
    EXPECT_FALSE(r.dense.empty()) << r.op_type;
  }
  const auto& supported = graph::supported_operator_types();
  EXPECT_EQ(rows, std::set<std::string>(supported.begin(), supported.end()));
  for (const auto& r : cpu_kernel_table()) {
    const bool weighted = r.op_type == "Conv" || r.op_type == "ConvTranspose" || r.op_type == "Gemm" || r.op_type == "MatMul";
    EXPECT_EQ(!r.sparse.empty(), weighted) << r.op_type;
  }
}

TEST(KernelTable, ReadmeShowsTheTable) {
  std::ifstream in(std::string(SPAROA_SOURCE_DIR) + "/hw/README.md");
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& r : cpu_kernel_table()) {
    const std::string line = "| " + r.op_type + " | " + r.dense + " | " + (r.sparse.empty() ? "-" : r.sparse) + " |";
    EXPECT_NE(text.str().find(line), std::string::npos) << "hw/README.md lacks: " << line;
  }
}

}  // namespace
}  // namespace sparoa::hw
