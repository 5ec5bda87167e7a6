#include "hw/conv_geometry.hpp"

#include <algorithm>

#include "support/error.hpp"

namespace sparoa::hw {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

std::string where_of(const graph::Operator& op) { return "operator '" + op.name + "' (" + op.type + ")"; }

}  // namespace

std::vector<std::int64_t> attr_per_dim(const graph::Operator& op, const std::string& key, std::size_t n,
                                       std::int64_t fallback) {
  auto v = op.attr_ints(key, std::vector<std::int64_t>(n, fallback));
  if (v.size() != n) {
    throw Error(where_of(op), "attribute '" + key + "' has " + std::to_string(v.size()) + " values, expected " + std::to_string(n));
  }
  return v;
}

ConvGeometry conv_geometry(const graph::Operator& op, const graph::Shape& x, const graph::Shape& w, const graph::Shape& y) {
  const std::size_t sd = x.size() - 2;
  ConvGeometry g;
  g.strides = attr_per_dim(op, "strides", sd, 1);
  g.dilations = attr_per_dim(op, "dilations", sd, 1);
  const auto pads = attr_per_dim(op, "pads", 2 * sd, 0);
  const std::string auto_pad = op.attr_string("auto_pad", "NOTSET");
  for (std::size_t d = 0; d < sd; ++d) {
    const std::int64_t in = x[2 + d], out = y[2 + d], s = g.strides[d];
    const std::int64_t kr = (w[2 + d] - 1) * g.dilations[d] + 1;
    std::int64_t pl = 0, pr = 0;
    if (auto_pad == "NOTSET") {
      pl = pads[d];
      pr = pads[d + sd];
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s + kr - in);
      pl = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pr = total - pl;
    } else if (auto_pad != "VALID") {
      throw Error(where_of(op), "unknown auto_pad '" + auto_pad + "'");
    }
    g.pad_begin.push_back(pl);
    g.pad_end.push_back(pr);
  }
  return g;
}

ConvGeometry deconv_geometry(const graph::Operator& op, const graph::Shape& x, const graph::Shape& w, const graph::Shape& y) {
  const std::size_t sd = x.size() - 2;
  ConvGeometry g;
  g.strides = attr_per_dim(op, "strides", sd, 1);
  g.dilations = attr_per_dim(op, "dilations", sd, 1);
  const auto pads = attr_per_dim(op, "pads", 2 * sd, 0);
  const auto out_pad = attr_per_dim(op, "output_padding", sd, 0);
  const std::string auto_pad = op.attr_string("auto_pad", "NOTSET");
  const bool has_output_shape = op.has_attr("output_shape");
  for (std::size_t d = 0; d < sd; ++d) {
    const std::int64_t in = x[2 + d], out = y[2 + d], s = g.strides[d];
    const std::int64_t kr = (w[2 + d] - 1) * g.dilations[d] + 1;
    const std::int64_t total = s * (in - 1) + out_pad[d] + kr - out;
    std::int64_t pl = 0;
    if (auto_pad == "SAME_UPPER") {
      pl = floor_div(total, 2);
    } else if (auto_pad == "SAME_LOWER") {
      pl = total - floor_div(total, 2);
    } else if (auto_pad == "NOTSET") {
      pl = has_output_shape ? total - floor_div(total, 2) : pads[d];
    } else if (auto_pad != "VALID") {
      throw Error(where_of(op), "unknown auto_pad '" + auto_pad + "'");
    }
    if (pl < 0) throw Error(where_of(op), "the resolved begin padding is negative, which no kernel here can run");
    g.pad_begin.push_back(pl);
    g.pad_end.push_back(s * (in - 1) + kr - pl - out);
  }
  return g;
}

}  // namespace sparoa::hw
