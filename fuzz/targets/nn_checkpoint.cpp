// Network checkpoints (policies/nn/checkpoint.hpp). The first byte picks the form: the rest as a
// whole file (magic, version, length and checksum checks), or as a payload put inside a valid
// envelope (the kind, metadata and tensor table). The first parse is the envelope.
#include "fuzz/fuzz_support.hpp"
#include "policies/nn/checkpoint.hpp"

SPAROA_FUZZ_TARGET(nn_checkpoint) {
  sparoa::fuzz::count_input("nn_checkpoint");
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string bytes = data[0] & 1 ? sparoa::fuzz::checkpoint_envelope(rest) : std::string(rest);
  try {
    sparoa::policies::nn::parse_checkpoint(bytes, "fuzz.ckpt");
    sparoa::fuzz::count_parsed();
    sparoa::fuzz::count_accepted();
  } catch (const sparoa::Error& e) {
    const std::string what = e.what();
    // Past the envelope: anything but the envelope's own complaints.
    if (what.find("bad magic") == std::string::npos && what.find("format version") == std::string::npos &&
        what.find("payload length") == std::string::npos && what.find("checksum") == std::string::npos) {
      sparoa::fuzz::count_parsed();
    }
  }
  return 0;
}
