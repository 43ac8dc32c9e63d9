"""YAML for configs (pipelines, classifier recipes, ablations), safe against alias bombs.

YAML anchors and aliases (`&a`, `*a`) let a few hundred bytes describe a structure with billions of
nodes ("billion laughs"). PyYAML composes the aliases as shared nodes, so parsing is cheap, but any
walk over the result (building Python objects' copies, validating them, finding line numbers,
writing the resolved config back out) expands them. Here the composed node graph is measured first,
counting every alias as the nodes it stands for; a document whose expanded size is over
`MAX_NODES` (far more than any real config) or whose aliases refer to themselves is refused with a
ConfigError before anything walks it.
"""

from __future__ import annotations

import yaml

from curate.errors import ConfigError

MAX_NODES = 200_000  # nodes after alias expansion; the shipped pipelines have a few hundred


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes in the tree `root` stands for, aliases expanded, stopping early once over `limit`.
    Raises ValueError on a node that contains itself."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise ValueError("an alias refers to a node that contains it (a recursive structure)")
        in_progress.add(key)
        n = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                n += size(k) + size(v)
                if n > limit:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                n += size(v)
                if n > limit:
                    break
        in_progress.discard(key)
        sizes[key] = n
        return n

    return size(root)


_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when installed: ~10x faster, same nodes


def compose_yaml(text: str, where: str, limit: int = MAX_NODES) -> yaml.Node | None:
    """The node graph of a YAML document, refused when its aliases expand past `limit` nodes.
    Raises ConfigError (naming `where` and the line) for invalid YAML too."""
    try:
        try:
            root = yaml.compose(text, Loader=_COMPOSER)
        except yaml.YAMLError:
            root = yaml.compose(text, Loader=yaml.SafeLoader)  # the pure-Python parser's messages (name the alias, ...)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", where=f"{where}:{mark.line + 1}" if mark else where,
                          fix="check indentation and quoting on that line") from None
    if root is None:
        return None
    try:
        n = _expanded_size(root, limit)
    except (ValueError, RecursionError) as exc:
        msg = str(exc) if isinstance(exc, ValueError) else "aliases nest too deeply"
        raise ConfigError(f"refused YAML: {msg}", where=where, fix="write the values out instead of using `&anchor`/`*alias`") from None
    if n > limit:
        raise ConfigError(f"refused YAML: its `&anchor`/`*alias` references expand to more than {limit:,} values (an alias bomb?)",
                          where=where, fix="write the values out instead of nesting aliases; a config needs a few hundred values")
    return root


def load_yaml(text: str, where: str, limit: int = MAX_NODES):
    """`yaml.safe_load(text)`, refusing alias bombs and recursive aliases (see `compose_yaml`)."""
    root = compose_yaml(text, where, limit)
    if root is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", where=f"{where}:{mark.line + 1}" if mark else where,
                          fix="check indentation and quoting on that line") from None
    finally:
        loader.dispose()
