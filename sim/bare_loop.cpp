#include "sim/bare_loop.hpp"

#include <simgrid/s4u.hpp>

#include <chrono>
#include <map>

#include "platforms/cost_model.hpp"
#include "sim/board.hpp"
#include "support/error.hpp"

namespace sg4 = simgrid::s4u;

namespace sparoa::sim {
namespace {

struct Template {
  std::vector<sg4::Host*> hosts;
  std::vector<double> flops;
  std::vector<double> bytes;
};

}  // namespace

BareLoopResult run_bare_loop(const graph::Graph& g, const platforms::Platform& p, const graph::Schedule& s,
                             std::int64_t inferences) {
  int argc = 2;
  char name[] = "sparoa-bare-loop";
  char quiet[] = "--log=root.thresh:critical";
  char* argv[] = {name, quiet, nullptr};
  sg4::Engine engine(&argc, argv);
  configure_engine(engine);
  Board board(p);
  const platforms::CostModel cost(p);
  const auto demands = platforms::op_demands(g);

  // Lane of every operator, and each lane's activity list for one inference, in the order
  // the simulator would create them on that lane.
  std::map<std::string, std::size_t> lane_of_op;
  std::map<std::string, std::string> kernel_of_op;
  for (const auto& e : s.entries) {
    kernel_of_op[e.op] = e.kernel;
  }
  std::vector<const platforms::Lane*> lanes;
  std::vector<std::size_t> lane_device;
  for (std::size_t d = 0; d < p.devices.size(); ++d) {
    for (const auto& l : p.devices[d].lanes) {
      lanes.push_back(&l);
      lane_device.push_back(d);
    }
  }
  auto lane_index = [&](const std::string& id) {
    for (std::size_t i = 0; i < lanes.size(); ++i) {
      if (lanes[i]->id == id) return i;
    }
    throw Error("schedule", "unknown lane " + id);
  };
  std::vector<std::vector<std::pair<std::int64_t, std::size_t>>> order(lanes.size());
  for (const auto& e : s.entries) {
    const std::size_t l = lane_index(e.lane);
    const std::size_t id = *g.find_op(e.op);
    lane_of_op[e.op] = l;
    order[l].emplace_back(e.order, id);
  }
  const std::size_t host_dev = board.device_index(p.host_device().id);
  std::vector<std::vector<Template>> lists(lanes.size());
  auto exec_on_unit = [&](std::size_t dev, int unit, double seconds) {
    sg4::Host* h = board.devices()[dev].units[std::size_t(unit)];
    return Template{{h}, {seconds * h->get_speed()}, {0}};
  };
  auto transfer = [&](std::size_t src, std::size_t dst, double bytes) {
    const auto& a = board.devices()[src];
    const auto& b = board.devices()[dst];
    double amount = bytes;
    if (a.domain == b.domain) {
      amount = board.domains()[a.domain].spec->transfer == platforms::SharedTransfer::copy ? 2 * bytes : 1;
    }
    return Template{{a.units[0], b.units[0]}, {0, 0}, {0, amount, 0, 0}};
  };
  for (std::size_t l = 0; l < lanes.size(); ++l) {
    std::sort(order[l].begin(), order[l].end());
    const std::size_t dev = lane_device[l];
    const bool gpu = p.devices[dev].kind == platforms::DeviceKind::gpu;
    for (const auto& [pos, id] : order[l]) {
      const graph::Operator& op = g.op(id);
      platforms::Kernel k = platforms::Kernel::dense;
      platforms::parse_kernel(kernel_of_op[op.name], k);
      const platforms::Work w = cost.work(demands[id], p.devices[dev].kind, k, g.batch, g.batch);
      const std::vector<int> units = board.lane_units(dev, *lanes[l]);
      // Launch (on the launch lane's list) or dispatch (on this lane's).
      if (gpu) {
        const std::size_t ll = lane_index(lanes[l]->launch_lane);
        lists[ll].push_back(exec_on_unit(lane_device[ll], board.lane_units(lane_device[ll], *lanes[ll]).front(), w.overhead_s));
      } else if (w.overhead_s > 0) {
        lists[l].push_back(exec_on_unit(dev, units.front(), w.overhead_s));
      }
      Template t;
      for (int u : units) t.hosts.push_back(board.devices()[dev].units[std::size_t(u)]);
      t.hosts.push_back(board.domains()[board.devices()[dev].domain].memory_host);
      const std::size_t k1 = units.size() + 1;
      t.flops.assign(k1, w.effective_flops / double(units.size()));
      t.flops.back() = 0;
      t.bytes.assign(k1 * k1, 0.0);
      t.bytes[units.size()] = w.effective_bytes;
      lists[l].push_back(std::move(t));
      // Transfers the simulator would start for this operator: graph inputs it reads on a
      // device other than the host, its outputs to each other device that consumes them, and
      // graph outputs back to the host.
      double input_bytes = 0;
      for (const auto& in : op.inputs) {
        if (!in.empty() && g.tensor(in).role == graph::TensorRole::input) input_bytes += double(g.tensor(in).size_bytes());
      }
      if (input_bytes > 0 && dev != host_dev) lists[l].push_back(transfer(host_dev, dev, input_bytes));
      double out_bytes = 0, graph_out = 0;
      for (const auto& o : op.outputs) {
        if (o.empty()) continue;
        out_bytes += double(g.tensor(o).size_bytes());
        for (const auto& go : g.output_names()) {
          if (go == o) graph_out += double(g.tensor(o).size_bytes());
        }
      }
      std::vector<std::size_t> dsts;
      for (auto succ : g.successors(id)) {
        const std::size_t sd = lane_device[lane_of_op[g.op(succ).name]];
        if (sd != dev && std::find(dsts.begin(), dsts.end(), sd) == dsts.end()) dsts.push_back(sd);
      }
      for (std::size_t d : dsts) lists[l].push_back(transfer(dev, d, out_bytes));
      if (graph_out > 0 && dev != host_dev) lists[l].push_back(transfer(dev, host_dev, graph_out));
    }
  }

  BareLoopResult result;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t l = 0; l < lists.size(); ++l) {
    if (lists[l].empty()) continue;
    sg4::Actor::create("lane" + std::to_string(l), board.actor_host(), [&result, &list = lists[l], inferences] {
      for (std::int64_t i = 0; i < inferences; ++i) {
        for (const Template& t : list) {
          sg4::ExecPtr e = sg4::this_actor::exec_init(t.hosts, t.flops, t.bytes);
          e->start();
          e->wait();
          ++result.activities;
        }
      }
    });
  }
  engine.run();
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.simulated_s = sg4::Engine::get_clock();
  return result;
}

}  // namespace sparoa::sim
