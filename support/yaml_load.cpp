#include "support/yaml_load.hpp"

#include <yaml.h>

#include <map>
#include <algorithm>
#include <climits>
#include <memory>
#include <optional>
#include <set>

#include "support/error.hpp"

namespace sparoa::detail {
struct YamlMarkSetter {};  // the tag of the as_if specialisation below
}  // namespace sparoa::detail

// yaml-cpp has no public way to give a node its position in the text, which our readers
// quote in errors ("line 12"). Node befriends every as_if<T, S>; this specialisation is the
// one place that uses that to set a node's mark.
template <>
struct YAML::as_if<sparoa::detail::YamlMarkSetter, void> {
  static void set(YAML::Node& node, const YAML::Mark& mark) {
    node.EnsureNodeExists();
    node.m_pNode->set_mark(mark);
  }
};

namespace sparoa {
namespace {

std::string at(const yaml_mark_t& m) {
  return "line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1);
}

YAML::Mark mark_of(const yaml_mark_t& m) {
  YAML::Mark mark;
  mark.pos = static_cast<int>(std::min<std::size_t>(m.index, INT32_MAX));
  mark.line = static_cast<int>(std::min<std::size_t>(m.line, INT32_MAX));
  mark.column = static_cast<int>(std::min<std::size_t>(m.column, INT32_MAX));
  return mark;
}

std::string text_of(const yaml_char_t* s) { return s ? reinterpret_cast<const char*>(s) : ""; }

// One open list or mapping while reading events.
struct Frame {
  YAML::Node node;
  bool mapping = false;
  std::uint64_t nodes = 1;  // expanded size so far, itself included
  std::string anchor;
  std::string path;                // "devices[2].lanes", as our readers name keys in errors
  std::size_t items = 0;           // a list's entries so far
  std::optional<YAML::Node> key;  // a mapping's key waiting for its value
  std::set<std::string> keys;
};

// What yaml-cpp's own parser would make of a scalar: plain "~", "null", "Null", "NULL" and ""
// are null; the tag is the explicit one, else "?" for plain and "!" for quoted scalars (our
// readers tell the string '42' from the number 42 by it).
YAML::Node scalar_node(const yaml_event_t& e) {
  const auto& s = e.data.scalar;
  const std::string value(reinterpret_cast<const char*>(s.value), s.length);
  const bool plain = s.style == YAML_PLAIN_SCALAR_STYLE;
  if (plain && !s.tag && (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL")) {
    return YAML::Node(YAML::NodeType::Null);
  }
  YAML::Node n(value);
  n.SetTag(s.tag ? text_of(s.tag) : plain ? "?" : "!");
  return n;
}

// Reads every document with libyaml (the C parser OSS-Fuzz fuzzes continuously) into yaml-cpp
// nodes, under the limits; linear in the text. yaml-cpp's own parser is never used: 0.7 loops
// forever on 22 bytes ("&s:2, 3]:x") and exhausts memory on some 4 KB inputs (fuzz/regressions).
std::vector<YAML::Node> parse(std::string_view text, const std::string& origin) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) throw Error(origin, "cannot start the YAML parser (out of memory?)");
  std::unique_ptr<yaml_parser_t, void (*)(yaml_parser_t*)> guard(&parser, yaml_parser_delete);
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());

  std::vector<YAML::Node> documents;
  std::vector<Frame> stack;
  std::map<std::string, std::pair<YAML::Node, std::uint64_t>> anchors;  // node, expanded size
  std::optional<YAML::Node> root;

  // The key path of the node about to start, for messages.
  auto path_of_next = [&]() -> std::string {
    if (stack.empty()) return "";
    const Frame& parent = stack.back();
    if (!parent.mapping) return parent.path + "[" + std::to_string(parent.items) + "]";
    if (!parent.key) return parent.path;  // a key itself
    const std::string key = parent.key->IsScalar() ? parent.key->Scalar() : "?";
    return parent.path.empty() ? key : parent.path + "." + key;
  };

  // A finished node: into its parent (as key or value), or the document's root.
  auto attach = [&](const YAML::Node& node, std::uint64_t size, const yaml_mark_t& mark, const std::string& anchor) {
    if (!anchor.empty()) anchors[anchor] = {node, size};
    if (stack.empty()) {
      root = node;
      return;
    }
    Frame& parent = stack.back();
    parent.nodes += size;
    if (parent.nodes > kMaxYamlNodes) {
      throw Error(origin, "more than " + std::to_string(kMaxYamlNodes) + " nodes with aliases expanded (limit) at " +
                              at(mark) + ": an alias bomb, or a file too large for sparoa");
    }
    if (!parent.mapping) {
      parent.node.push_back(node);
      ++parent.items;
    } else if (!parent.key) {
      if (node.IsScalar() && !parent.keys.insert(node.Scalar()).second) {
        const std::string key = parent.path.empty() ? node.Scalar() : parent.path + "." + node.Scalar();
        throw Error(origin + ": " + key, "duplicate key '" + node.Scalar() + "' at " + at(mark));
      }
      parent.key = node;
    } else {
      parent.node.force_insert(*parent.key, node);
      parent.key.reset();
    }
  };

  for (;;) {
    yaml_event_t event;
    if (!yaml_parser_parse(&parser, &event)) {
      std::string problem = parser.problem ? parser.problem : "syntax error";
      if (parser.context) problem = std::string(parser.context) + ": " + problem;
      throw Error(origin, "malformed YAML at " + at(parser.problem_mark) + ": " + problem);
    }
    std::unique_ptr<yaml_event_t, void (*)(yaml_event_t*)> event_guard(&event, yaml_event_delete);
    const yaml_mark_t& mark = event.start_mark;
    switch (event.type) {
      case YAML_STREAM_END_EVENT:
        return documents;
      case YAML_DOCUMENT_START_EVENT:
        anchors.clear();  // anchors do not cross documents
        root.reset();
        break;
      case YAML_DOCUMENT_END_EVENT:
        documents.push_back(root ? *root : YAML::Node(YAML::NodeType::Null));
        break;
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (static_cast<int>(stack.size()) >= kMaxYamlDepth) {
          throw Error(origin, "nested deeper than " + std::to_string(kMaxYamlDepth) + " levels (limit) at " + at(mark));
        }
        Frame f;
        f.path = path_of_next();
        f.mapping = event.type == YAML_MAPPING_START_EVENT;
        f.node = YAML::Node(f.mapping ? YAML::NodeType::Map : YAML::NodeType::Sequence);
        const yaml_char_t* tag = f.mapping ? event.data.mapping_start.tag : event.data.sequence_start.tag;
        f.node.SetTag(tag ? text_of(tag) : "?");
        YAML::as_if<detail::YamlMarkSetter, void>::set(f.node, mark_of(mark));
        f.anchor = text_of(f.mapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor);
        stack.push_back(std::move(f));
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Frame f = std::move(stack.back());
        stack.pop_back();
        attach(f.node, f.nodes, mark, f.anchor);
        break;
      }
      case YAML_SCALAR_EVENT: {
        YAML::Node n = scalar_node(event);
        YAML::as_if<detail::YamlMarkSetter, void>::set(n, mark_of(mark));
        attach(n, 1, mark, text_of(event.data.scalar.anchor));
        break;
      }
      case YAML_ALIAS_EVENT: {
        const std::string name = text_of(event.data.alias.anchor);
        const auto it = anchors.find(name);
        if (it == anchors.end()) throw Error(origin, "malformed YAML at " + at(mark) + ": unknown alias '*" + name + "'");
        // The same node, shared, as yaml-cpp's parser does: the expanded size is what counts.
        attach(it->second.first, it->second.second, mark, "");
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace

void check_yaml_text(std::string_view text, const std::string& origin) { load_yaml_all(text, origin); }

std::vector<YAML::Node> load_yaml_all(std::string_view text, const std::string& origin) {
  if (text.size() > kMaxYamlBytes) {
    throw Error(origin, "larger than " + std::to_string(kMaxYamlBytes >> 20) + " MiB (limit for YAML files)");
  }
  return parse(text, origin);
}

YAML::Node load_yaml(std::string_view text, const std::string& origin) {
  std::vector<YAML::Node> docs = load_yaml_all(text, origin);
  if (docs.size() > 1) throw Error(origin, "holds " + std::to_string(docs.size()) + " YAML documents, expected one");
  return docs.empty() ? YAML::Node() : docs.front();
}

}  // namespace sparoa
