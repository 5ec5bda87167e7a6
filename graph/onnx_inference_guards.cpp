#include "graph/onnx_inference_guards.hpp"

#include <onnx/defs/schema.h>
#include <onnx/defs/shape_inference.h>

#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "graph/onnx_import.hpp"  // kMaxOpset

namespace sparoa::graph::detail {
namespace {

int rank_of(const onnx::InferenceContext& ctx, std::size_t input) {
  return ctx.getInputType(input)->tensor_type().shape().dim_size();
}

// Conv (X: N x C x D1..Dn, W: M x C/group x k1..kn) and ConvTranspose (W: C x M/group x
// k1..kn): without a kernel_shape attribute, ONNX takes the kernel from W's dimensions 2..
// and indexes the dilations (sized by X's rank) with them; ConvTranspose also reads W's
// dimension 1. Both need W to have X's rank, which the ONNX spec requires anyway.
void require_weight_of_input_rank(onnx::InferenceContext& ctx) {
  if (!onnx::hasInputShape(ctx, 0) || !onnx::hasInputShape(ctx, 1)) return;  // ONNX stops there too
  const int x_rank = rank_of(ctx, 0);
  const int w_rank = rank_of(ctx, 1);
  if (x_rank >= 2 && w_rank != x_rank) {
    fail_shape_inference("the weight W has rank ", w_rank, " but the input X has rank ", x_rank,
                         ": W must have X's rank (2 channel dimensions, then one kernel dimension per spatial axis of X)");
  }
}

// Conv, MaxPool and AveragePool divide by each stride to count the kernel's positions: a
// stride of 0 is an integer division by zero (SIGFPE inside libonnx, found by fuzz/), and -1
// can trap too (INT64_MIN / -1). The ONNX spec wants strides of 1 or more anyway.
void require_positive_strides(onnx::InferenceContext& ctx) {
  const onnx::AttributeProto* strides = ctx.getAttribute("strides");
  if (strides == nullptr) return;
  for (int i = 0; i < strides->ints_size(); ++i) {
    if (strides->ints(i) < 1) {
      fail_shape_inference("strides[", i, "] is ", strides->ints(i), ": every stride must be 1 or more");
    }
  }
}

using Guard = void (*)(onnx::InferenceContext&);

const std::pair<const char*, Guard> kGuards[] = {
    {"Conv", require_weight_of_input_rank},
    {"Conv", require_positive_strides},
    {"ConvTranspose", require_weight_of_input_rank},
    {"ConvTranspose", require_positive_strides},
    {"MaxPool", require_positive_strides},
    {"AveragePool", require_positive_strides},
};

void install() {
  for (const auto& [op, guard] : kGuards) {
    std::set<const onnx::OpSchema*> done;
    for (int version = 1; version <= int(kMaxOpset); ++version) {  // the importer refuses newer models
      const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(op, version);
      if (schema == nullptr || !done.insert(schema).second) continue;
      // The registry hands out const pointers to schemas it owns (and does not define const);
      // replacing the function is the one way to run code between ONNX's steps.
      auto* mutable_schema = const_cast<onnx::OpSchema*>(schema);
      // (Several guards of one operator nest: each wraps what the last one installed.)
      onnx::InferenceFunction original = schema->GetTypeAndShapeInferenceFunction();
      mutable_schema->TypeAndShapeInferenceFunction(
          [guard = guard, original = std::move(original)](onnx::InferenceContext& ctx) {
            guard(ctx);
            original(ctx);
          });
    }
  }
}

}  // namespace

void install_onnx_inference_guards() {
  static std::once_flag once;
  std::call_once(once, install);
}

}  // namespace sparoa::graph::detail
