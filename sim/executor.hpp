#pragma once
// Internal to sim/: the discrete-event executor. It keeps the DAG, the lanes and the batches
// in its own structures and creates each SimGrid activity only when it can start (DESIGN.md:
// creating a whole DAG up front is quadratic in SimGrid 3.32).
//
// What runs where:
//  * a CPU operator: a dispatch Exec (overhead_us of CPU time on the lane's first core), then
//    a parallel task over the lane's online cores (FLOPs split evenly) with its bytes sent to
//    the memory host through the domain's DRAM link;
//  * a GPU operator: a launch Exec on its launch lane's first core (the CPU pays the launch),
//    then, in stream order, a parallel task over the GPU's online units plus the DRAM link.
//    Launches run ahead of the GPU as in CUDA: a launch needs its CPU predecessors finished
//    and its GPU predecessors launched, not finished;
//  * a transfer between devices: bytes from one device's unit 0 to the other's (the route
//    gives DRAM, copy latency or the PCIe link), started as soon as the producer finishes
//    (static schedules) or when the consumer is placed (online policies);
//  * a launch lane is one CPU lane: when free it starts the ready item that comes first by
//    (batch, topological position) among its own next operator and the next launch of each
//    GPU lane it serves.
// A lane serves batches in FIFO order (DESIGN.md): all its operators of batch k before
// those of batch k+1.
#include <cstdint>
#include <memory>
#include <string>

#include "sim/board.hpp"
#include "sim/energy_accounting.hpp"
#include "sim/simulation.hpp"

namespace sparoa::sim::detail {

// Runs inside the SimGrid engine (from the main actor); returns the summary.
Summary run_executor(const SimulationOptions& options, Board& board, EnergyAccounting& energy, double wall_start);

}  // namespace sparoa::sim::detail
