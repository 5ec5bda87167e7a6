// SAC agent files (`sparoa train rl` output, the rl policy's agent=FILE): the input is the
// checkpoint payload, put in a valid envelope; the agent's loader reads its configuration and
// feature layout from the metadata and every network's matrices. The first parse is the payload.
#include "fuzz/fuzz_support.hpp"
#include "policies/nn/checkpoint.hpp"
#include "policies/rl/sac.hpp"

SPAROA_FUZZ_TARGET(agent_checkpoint) {
  sparoa::fuzz::count_input("agent_checkpoint");
  const std::string bytes =
      sparoa::fuzz::checkpoint_envelope(std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    sparoa::policies::nn::parse_checkpoint(bytes, "fuzz.agent");
    sparoa::fuzz::count_parsed();
  } catch (const sparoa::Error&) {
    return 0;
  }
  const sparoa::fuzz::MemFile file(bytes, "agent");
  sparoa::fuzz::expect_clean([&] { sparoa::policies::rl::SacAgent::load(file.path()); });
  return 0;
}
