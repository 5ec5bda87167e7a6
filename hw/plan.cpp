#include "hw/plan.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <set>

#include "support/error.hpp"

namespace sparoa::hw {

std::string PlanStep::op_name(const graph::Graph& g) const {
  if (kind == StepKind::op) return g.op(group.root).name;
  const auto producer = g.producer(tensor);
  return producer ? g.op(*producer).name : tensor;
}

bool Plan::has_gpu() const {
  return std::any_of(lanes.begin(), lanes.end(), [](const PlanLane& l) { return l.kind == LaneKind::gpu; });
}

gpu::MemoryKind Plan::kind_of(const std::string& domain) const {
  auto it = domain_kinds.find(domain);
  return it == domain_kinds.end() ? gpu::MemoryKind::host : it->second;
}

std::size_t Plan::buffer_bytes() const {
  std::size_t n = 0;
  for (const auto& b : buffers) n += b.bytes;
  return n;
}

std::size_t Plan::unshared_bytes() const {
  std::size_t n = 0;
  for (const auto& s : slots) {
    if (s.kind == SlotKind::activation || s.kind == SlotKind::output) n += s.bytes;
  }
  return n;
}

namespace {

// Ancestor sets as bitsets: anc[s] holds every step that happens-before s.
class Ancestry {
 public:
  explicit Ancestry(std::size_t n) : words_((n + 63) / 64), bits_(n * words_, 0) {}
  void add(std::size_t s, std::size_t ancestor) {
    bits_[s * words_ + ancestor / 64] |= std::uint64_t(1) << (ancestor % 64);
    for (std::size_t w = 0; w < words_; ++w) bits_[s * words_ + w] |= bits_[ancestor * words_ + w];
  }
  bool before(std::size_t a, std::size_t s) const { return (bits_[s * words_ + a / 64] >> (a % 64)) & 1; }

 private:
  std::size_t words_;
  std::vector<std::uint64_t> bits_;
};

// The domain a lane's outputs live in (see PlanLane::domain).
std::string lane_domain(const platforms::Platform& p, const platforms::Device& d) {
  if (d.kind != platforms::DeviceKind::gpu) return d.memory_domain;
  const bool shared = std::any_of(p.devices.begin(), p.devices.end(), [&](const platforms::Device& o) {
    return o.kind == platforms::DeviceKind::cpu && o.memory_domain == d.memory_domain;
  });
  if (!shared) return d.memory_domain;
  for (const auto& m : p.memory_domains) {
    if (m.id == d.memory_domain && m.transfer == platforms::SharedTransfer::zero_copy) return d.memory_domain;
  }
  return d.memory_domain + "/" + d.id;
}

}  // namespace

Plan make_plan(const graph::Graph& g, const platforms::Platform& p, const graph::Schedule& s, const std::string& origin,
               const std::map<std::string, std::vector<int>>& lane_cpus) {
  graph::validate_schedule(s, g, origin);
  if (!s.platform_name.empty() && s.platform_name != p.name) {
    throw Error(origin + ": platform", "the schedule was made for platform '" + s.platform_name + "', not '" + p.name + "'");
  }
  Plan plan;
  plan.batch = g.batch;

  // Lanes in platform order, with their entries sorted by order; fused members grouped.
  std::map<std::string, std::size_t> lane_index;
  std::map<std::string, std::vector<const graph::ScheduleEntry*>> by_lane;
  std::map<std::string, std::vector<const graph::ScheduleEntry*>> members;  // root op -> fused members
  for (const auto& e : s.entries) {
    if (!p.find_lane(e.lane)) throw Error(origin + ": entry '" + e.op + "'", "lane '" + e.lane + "' is not on platform " + p.name);
    if (e.fuse_with) {
      members[*e.fuse_with].push_back(&e);
    } else {
      by_lane[e.lane].push_back(&e);
    }
  }
  std::set<std::string> gpu_devices;
  for (const auto& d : p.devices) {
    for (const auto& l : d.lanes) {
      if (!by_lane.count(l.id)) continue;
      auto cpus = lane_cpus.find(l.id);
      if (cpus == lane_cpus.end()) throw Error(origin, "lane '" + l.id + "' is not bound to cores of this machine");
      lane_index[l.id] = plan.lanes.size();
      PlanLane lane{l.id, d.id, lane_domain(p, d), cpus->second, {}, LaneKind::cpu, ""};
      if (d.kind == platforms::DeviceKind::gpu) {
        lane.kind = LaneKind::gpu;
        lane.launch_lane = l.launch_lane;
        for (const auto& c : p.devices) {  // unnamed: the platform's first CPU lane
          if (lane.launch_lane.empty() && c.kind == platforms::DeviceKind::cpu && !c.lanes.empty()) lane.launch_lane = c.lanes.front().id;
        }
        gpu_devices.insert(d.id);
      }
      plan.lanes.push_back(lane);
    }
  }
  if (gpu_devices.size() > 1) throw Error(origin, "the schedule uses " + std::to_string(gpu_devices.size()) + " GPU devices; the replay engine drives one");
  const std::string host_domain = p.host_device().memory_domain;

  // Slots: one per (tensor, memory domain) it is needed in.
  std::map<std::pair<std::string, std::string>, int> slot_of;
  auto new_slot = [&](const std::string& name, SlotKind kind, const std::string& domain) {
    const graph::Tensor& t = g.tensor(name);
    Slot slot;
    slot.tensor = name;
    slot.dtype = t.dtype;
    slot.shape = t.shape;
    slot.bytes = std::size_t(t.size_bytes());
    slot.kind = kind;
    slot.domain = domain;
    plan.slots.push_back(slot);
    const int id = int(plan.slots.size() - 1);
    slot_of[{name, domain}] = id;
    return id;
  };
  const auto& outs = g.output_names();
  for (const auto& name : g.input_names()) plan.input_slots[name] = new_slot(name, SlotKind::input, host_domain);

  std::map<std::string, int> produced_slot;  // tensor -> slot where its producer wrote it
  auto group_ops = [&](const graph::ScheduleEntry* e) {
    std::vector<graph::OpId> ops = {*g.find_op(e->op)};
    auto m = members.find(e->op);
    if (m != members.end()) {
      auto list = m->second;
      std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->order < b->order; });
      for (auto* me : list) ops.push_back(*g.find_op(me->op));
    }
    return ops;
  };
  // Each lane's groups in order.
  std::vector<std::deque<std::pair<const graph::ScheduleEntry*, FusedGroup>>> queues(plan.lanes.size());
  for (auto& [lane_id, entries] : by_lane) {
    std::sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->order < b->order; });
    for (auto* e : entries) queues[lane_index.at(lane_id)].push_back({e, make_fused_group(g, group_ops(e))});
  }
  // Steps are created in an order that respects every data edge and every lane's order (the
  // schedule was validated free of cross-lane deadlock): take the head of any lane whose
  // inputs are all produced, until every lane is empty.
  auto ready = [&](const FusedGroup& group) {
    return std::all_of(group.inputs.begin(), group.inputs.end(), [&](const std::string& name) {
      return name.empty() || g.tensor(name).data || plan.input_slots.count(name) || produced_slot.count(name);
    });
  };
  for (;;) {
    std::size_t l = 0;
    while (l < queues.size() && (queues[l].empty() || !ready(queues[l].front().second))) ++l;
    if (l == queues.size()) {
      if (std::any_of(queues.begin(), queues.end(), [](const auto& q) { return !q.empty(); })) {
        throw Error(origin, "the lanes' orders wait for each other (deadlock)");
      }
      break;
    }
    auto [entry, group] = std::move(queues[l].front());
    queues[l].pop_front();
    PlanLane& lane = plan.lanes[l];
    PlanStep step;
    step.kind = StepKind::op;
    step.lane = l;
    step.group = std::move(group);
    step.kernel = entry->kernel == "sparse" ? KernelChoice::sparse : KernelChoice::dense;
    for (const auto& name : step.group.inputs) {
      if (name.empty()) {
        step.inputs.push_back(-1);
        continue;
      }
      const graph::Tensor& t = g.tensor(name);
      if (t.data) {
        // CPU lanes read weights in place; a GPU lane gets a copy in its domain (uploaded once).
        const std::string where = lane.kind == LaneKind::gpu ? lane.domain : "";
        auto it = slot_of.find({name, where});
        step.inputs.push_back(it != slot_of.end() ? it->second : new_slot(name, SlotKind::weight, where));
        continue;
      }
      auto here = slot_of.find({name, lane.domain});
      if (here != slot_of.end()) {
        step.inputs.push_back(here->second);
        continue;
      }
      // The tensor lives in another memory domain: this lane copies it in first.
      int source = -1;
      if (auto it = produced_slot.find(name); it != produced_slot.end()) source = it->second;
      if (auto it = plan.input_slots.find(name); it != plan.input_slots.end()) source = it->second;
      if (source < 0) throw Error(origin, "operator '" + step.op_name(g) + "' reads '" + name + "' before it is produced");
      PlanStep copy;
      copy.kind = StepKind::transfer;
      copy.lane = l;
      copy.tensor = name;
      copy.inputs = {source};
      copy.outputs = {new_slot(name, SlotKind::activation, lane.domain)};
      plan.steps.push_back(copy);
      const std::size_t copy_id = plan.steps.size() - 1;
      plan.slots[std::size_t(copy.outputs[0])].producer = int(copy_id);
      lane.steps.push_back(copy_id);
      step.inputs.push_back(copy.outputs[0]);
    }
    for (const auto& name : step.group.outputs) {
      const bool is_output = std::find(outs.begin(), outs.end(), name) != outs.end();
      const int slot = new_slot(name, is_output ? SlotKind::output : SlotKind::activation, lane.domain);
      produced_slot[name] = slot;
      if (is_output) plan.output_slots[name] = slot;
      step.outputs.push_back(slot);
    }
    plan.steps.push_back(std::move(step));
    const std::size_t id = plan.steps.size() - 1;
    for (int o : plan.steps[id].outputs) plan.slots[std::size_t(o)].producer = int(id);
    lane.steps.push_back(id);
  }
  for (const auto& name : outs) {
    if (!plan.output_slots.count(name)) {
      // A graph output that no operator produces (an input or a weight passed through).
      auto it = plan.input_slots.find(name);
      if (it != plan.input_slots.end()) {
        plan.output_slots[name] = it->second;
      } else {
        plan.output_slots[name] = new_slot(name, SlotKind::weight, "");
      }
    }
  }

  // Memory kinds: GPU domains first, then the host domains that copies to or from them touch.
  for (const auto& lane : plan.lanes) {
    if (lane.kind != LaneKind::gpu) continue;
    const bool shared = std::any_of(plan.lanes.begin(), plan.lanes.end(), [&](const PlanLane& o) {
      return o.kind == LaneKind::cpu && o.domain == lane.domain;
    }) || lane.domain == host_domain;
    plan.domain_kinds[lane.domain] = shared ? gpu::MemoryKind::mapped : gpu::MemoryKind::device;
  }
  auto on_gpu = [&](const std::string& d) {
    const auto k = plan.kind_of(d);
    return k == gpu::MemoryKind::device || k == gpu::MemoryKind::mapped;
  };
  for (const auto& step : plan.steps) {
    if (step.kind != StepKind::transfer) continue;
    const std::string& from = plan.slots[std::size_t(step.inputs[0])].domain;
    const std::string& to = plan.slots[std::size_t(step.outputs[0])].domain;
    for (const auto& [a, b] : {std::pair{from, to}, std::pair{to, from}}) {
      if (on_gpu(b) && !on_gpu(a)) plan.domain_kinds[a] = gpu::MemoryKind::pinned;
    }
  }

  // Readers, waits and the happens-before relation.
  const std::size_t n = plan.steps.size();
  for (std::size_t id = 0; id < n; ++id) {
    PlanStep& step = plan.steps[id];
    std::set<std::size_t> waits;
    for (int in : step.inputs) {
      if (in < 0) continue;
      Slot& slot = plan.slots[std::size_t(in)];
      slot.readers.push_back(id);
      if (slot.producer >= 0 && plan.steps[std::size_t(slot.producer)].lane != step.lane) waits.insert(std::size_t(slot.producer));
    }
    step.waits.assign(waits.begin(), waits.end());
  }
  // Steps were created in an order that respects every edge, so one pass builds the closure.
  Ancestry before(n);
  std::vector<long> previous_on_lane(plan.lanes.size(), -1);
  for (std::size_t id = 0; id < n; ++id) {
    const PlanStep& step = plan.steps[id];
    if (previous_on_lane[step.lane] >= 0) before.add(id, std::size_t(previous_on_lane[step.lane]));
    previous_on_lane[step.lane] = long(id);
    for (int in : step.inputs) {
      if (in < 0) continue;
      const int producer = plan.slots[std::size_t(in)].producer;
      if (producer >= 0) before.add(id, std::size_t(producer));
    }
  }

  // Buffers by liveness. A buffer's last tenant is enough to check: it was only given the
  // buffer once every earlier tenant's readers happened-before its producer.
  std::vector<int> last_tenant;
  auto free_for = [&](int tenant, std::size_t step) {
    const Slot& t = plan.slots[std::size_t(tenant)];
    if (!before.before(std::size_t(t.producer), step)) return false;
    return std::all_of(t.readers.begin(), t.readers.end(), [&](std::size_t r) { return before.before(r, step); });
  };
  for (std::size_t id = 0; id < n; ++id) {
    for (int o : plan.steps[id].outputs) {
      Slot& slot = plan.slots[std::size_t(o)];
      if (slot.kind == SlotKind::output) {
        plan.buffers.push_back({slot.domain, slot.bytes});
        last_tenant.push_back(-1);  // never shared
        slot.buffer = int(plan.buffers.size() - 1);
        continue;
      }
      int best = -1;
      for (std::size_t b = 0; b < plan.buffers.size(); ++b) {
        if (last_tenant[b] < 0 || plan.buffers[b].domain != slot.domain || !free_for(last_tenant[b], id)) continue;
        // Best fit: the smallest buffer that is big enough, else the biggest one (grown).
        if (best < 0) {
          best = int(b);
          continue;
        }
        const std::size_t have = plan.buffers[b].bytes, cur = plan.buffers[std::size_t(best)].bytes;
        const bool fits = have >= slot.bytes, cur_fits = cur >= slot.bytes;
        if ((fits && (!cur_fits || have < cur)) || (!fits && !cur_fits && have > cur)) best = int(b);
      }
      if (best < 0) {
        plan.buffers.push_back({slot.domain, 0});
        last_tenant.push_back(-1);
        best = int(plan.buffers.size() - 1);
      }
      plan.buffers[std::size_t(best)].bytes = std::max(plan.buffers[std::size_t(best)].bytes, slot.bytes);
      last_tenant[std::size_t(best)] = o;
      slot.buffer = best;
    }
  }
  return plan;
}

}  // namespace sparoa::hw
