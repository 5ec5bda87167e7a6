// Concat on oneDNN's concat primitive and ReduceMean/Sum/Max/Min on its reduction primitive.
// The own kernels run these too, so a case oneDNN does not take returns nullptr.
#include <algorithm>
#include <set>

#include "hw/cpu/dnnl_common.hpp"

namespace sparoa::hw::onednn {
namespace {

// Any number of plain sources, one plain destination.
class MultiSourceKernel final : public DnnlKernel {
 public:
  const dnnl::engine& engine() const { return rt_.engine; }

  // `sources`: run() input index of each oneDNN source, in argument order from `first_arg`.
  void init(const dnnl::primitive_desc_base& pd, dnnl::primitive prim, int first_arg, std::vector<std::size_t> sources,
            const std::vector<dnnl::memory::desc>& source_descs, const dnnl::memory::desc& dst, const std::string& name) {
    prim_ = std::move(prim);
    sources_ = std::move(sources);
    first_arg_ = first_arg;
    for (std::size_t i = 0; i < sources_.size(); ++i) {
      args_[first_arg + int(i)] = dnnl::memory(source_descs[i], rt_.engine, DNNL_MEMORY_NONE);
    }
    args_[DNNL_ARG_DST] = dnnl::memory(dst, rt_.engine, DNNL_MEMORY_NONE);
    add_scratchpad(pd);
    implementation_ = "onednn:" + name + " (" + pd.impl_info_str() + ")";
  }

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    if (outputs[0].elements() == 0) return;
    for (std::size_t i = 0; i < sources_.size(); ++i) args_[first_arg_ + int(i)].set_data_handle(inputs[sources_[i]].data);
    args_[DNNL_ARG_DST].set_data_handle(outputs[0].data);
    prim_.execute(rt_.stream, args_);
    rt_.stream.wait();
  }

 private:
  dnnl::primitive prim_;
  std::vector<std::size_t> sources_;
  int first_arg_ = 0;
};

std::unique_ptr<CpuKernel> make_concat(const KernelContext& ctx) {
  const graph::Operator& op = ctx.root();
  const graph::Tensor& out = ctx.graph->tensor(op.outputs.at(0));
  const auto type = dnnl_type(out.dtype);
  if (!type || out.shape.empty() || out.elements() == 0) return nullptr;
  const auto rank = std::int64_t(out.shape.size());
  std::int64_t axis = op.attr_int("axis", 0);
  if (axis < -rank || axis >= rank) return nullptr;
  if (axis < 0) axis += rank;
  std::vector<std::size_t> sources;
  std::vector<dnnl::memory::desc> descs;
  for (std::size_t i = 0; i < op.inputs.size(); ++i) {
    const graph::Tensor* t = input_tensor_or_null(ctx, i);
    if (!t || t->dtype != out.dtype || t->shape.size() != out.shape.size()) return nullptr;
    if (t->elements() == 0) continue;  // contributes nothing; oneDNN refuses empty sources
    sources.push_back(i);
    descs.push_back(plain_desc(to_dims(t->shape), *type));
  }
  if (sources.empty()) return nullptr;
  auto k = std::make_unique<MultiSourceKernel>();
  const dnnl::memory::desc dst = plain_desc(to_dims(out.shape), *type);
  try {
    dnnl::concat::primitive_desc pd(dst, int(axis), descs, k->engine(), scratchpad_attr());
    k->init(pd, dnnl::concat(pd), DNNL_ARG_MULTIPLE_SRC, sources, descs, dst, "concat");
  } catch (const dnnl::error&) {
    return nullptr;
  }
  return k;
}

// The reduced axes, or nullopt when they come from a run-time tensor.
std::optional<std::set<std::int64_t>> reduce_axes(const KernelContext& ctx, std::size_t rank) {
  const graph::Operator& op = ctx.root();
  std::vector<std::int64_t> axes;
  if (op.inputs.size() > 1 && !op.inputs[1].empty()) {
    const graph::Tensor& t = ctx.input_tensor(1);
    if (!t.data || t.dtype != graph::DType::i64) return std::nullopt;
    const std::int64_t* p = weight_view(t).as<std::int64_t>();
    axes.assign(p, p + t.elements());
  } else {
    axes = op.attr_ints("axes", {});
  }
  std::set<std::int64_t> out;
  for (auto a : axes) {
    if (a < -std::int64_t(rank) || a >= std::int64_t(rank)) throw Error(op_where(op), "axis " + std::to_string(a) + " is out of range");
    out.insert(a < 0 ? a + std::int64_t(rank) : a);
  }
  if (out.empty() && op.attr_int("noop_with_empty_axes", 0) == 0) {
    for (std::size_t d = 0; d < rank; ++d) out.insert(std::int64_t(d));
  }
  return out;
}

std::unique_ptr<CpuKernel> make_reduction(const KernelContext& ctx) {
  const graph::Operator& op = ctx.root();
  static const std::map<std::string, dnnl::algorithm> algs = {{"ReduceMean", dnnl::algorithm::reduction_mean},
                                                                {"ReduceSum", dnnl::algorithm::reduction_sum},
                                                                {"ReduceMax", dnnl::algorithm::reduction_max},
                                                                {"ReduceMin", dnnl::algorithm::reduction_min}};
  auto it = algs.find(op.type);
  if (it == algs.end() || !input_is_f32(ctx, 0) || !output_is_f32(ctx)) return nullptr;
  const graph::Shape& x = ctx.input_tensor(0).shape;
  if (graph::element_count(x) == 0) return nullptr;
  const auto axes = reduce_axes(ctx, x.size());
  if (!axes) return nullptr;
  // Neighbouring dimensions that are both reduced or both kept merge into one: fewer
  // dimensions reach oneDNN's optimised reductions more often (and its rank limit less).
  dims_t src, dst;
  int last = -1;  // 1 reduced, 0 kept
  for (std::size_t d = 0; d < x.size(); ++d) {
    if (x[d] == 1) continue;
    const int reduced = axes->count(std::int64_t(d)) ? 1 : 0;
    if (reduced == last) {
      src.back() *= x[d];
      dst.back() = reduced ? 1 : src.back();
    } else {
      src.push_back(x[d]);
      dst.push_back(reduced ? 1 : x[d]);
      last = reduced;
    }
  }
  if (src.empty()) src = dst = {1};
  if (src.size() > DNNL_MAX_NDIMS) return nullptr;
  auto k = std::make_unique<MultiSourceKernel>();
  const dnnl::memory::desc src_md = plain_desc(src), dst_md = plain_desc(dst);
  try {
    if (src == dst) {
      // Nothing is reduced (noop_with_empty_axes, or only size-1 axes): a copy.
      dnnl::reorder::primitive_desc pd(k->engine(), src_md, k->engine(), dst_md, scratchpad_attr());
      k->init(pd, dnnl::reorder(pd), DNNL_ARG_SRC, {0}, {src_md}, dst_md, "reorder");
    } else {
      dnnl::reduction::primitive_desc pd(dnnl::reduction::desc(it->second, src_md, dst_md, 0.0f, 0.0f), scratchpad_attr(),
                                         k->engine());
      k->init(pd, dnnl::reduction(pd), DNNL_ARG_SRC, {0}, {src_md}, dst_md, "reduction");
    }
  } catch (const dnnl::error&) {
    return nullptr;
  }
  return k;
}

}  // namespace

std::unique_ptr<CpuKernel> make_data_kernel(const KernelContext& ctx) {
  const std::string& t = ctx.root().type;
  if (t == "Concat") return make_concat(ctx);
  if (t == "ReduceMean" || t == "ReduceSum" || t == "ReduceMax" || t == "ReduceMin") return make_reduction(ctx);
  return nullptr;
}

}  // namespace sparoa::hw::onednn
