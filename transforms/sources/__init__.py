"""Touchpoint adapters, keyed by the folder name under the raw input (data/raw/<folder>/...).

Which adapters read which folder is configuration (data/config/touchpoints.yml): a folder name and the
`module:ATTRIBUTE` of one SourceAdapter, or a list of them (a record goes to the first that accepts it),
or a mapping with `adapters:` and `options:`, where options (which survey question is NPS, the export's
time zone...) are handed to each adapter that is a factory, `module:function(options) -> SourceAdapter`.
`load_adapters` reads and checks it; errors name the file, the line and the entry.
"""

from __future__ import annotations

import functools
import importlib
import re
from pathlib import Path

import yaml

from transforms.sources.base import SourceAdapter

DEFAULT_TOUCHPOINTS = Path(__file__).resolve().parents[2] / "data" / "config" / "touchpoints.yml"
FOLDER = re.compile(r"^[a-z][a-z0-9_]*$")


class AdapterConfigError(ValueError):
    """The touchpoints file cannot be used; the message names the file, line and entry."""


def load_adapters(path: str | Path | None = None) -> dict[str, tuple[SourceAdapter, ...]]:
    """Read a touchpoints file and import every adapter it names: folder -> its adapters, in order."""
    path = Path(path) if path else DEFAULT_TOUCHPOINTS
    try:
        text = path.read_text()
    except OSError as exc:
        raise AdapterConfigError(f"{path}: cannot read the touchpoints file ({exc.strerror or exc})") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)  # where the broken part starts
        where = f" line {mark.line + 1}:" if mark else ""
        raise AdapterConfigError(f"{path}:{where} not valid YAML: {getattr(exc, 'problem', exc)}") from None
    entries = _mapping(root, "touchpoints") if root is not None else None
    if entries is None:
        raise AdapterConfigError(f"{path}: expected a 'touchpoints:' mapping of folder: module:ADAPTER")
    adapters = {}
    for key, value in entries:
        where = f"{path}: line {key.start_mark.line + 1}: touchpoints.{key.value}"
        if not FOLDER.match(str(key.value)):
            raise AdapterConfigError(f"{where}: a folder name is lower case letters, digits and _")
        specs, options = _entry(value, where)
        adapters[str(key.value)] = tuple(_adapter(spec, options, where) for spec in specs)
    return adapters


def _entry(value: yaml.Node, where: str) -> tuple[list[str], dict]:
    """The adapter specs and options of one folder's entry, in any of its three forms."""
    if isinstance(value, yaml.ScalarNode):
        return [str(value.value)], {}
    if isinstance(value, yaml.SequenceNode) and all(isinstance(v, yaml.ScalarNode) for v in value.value) and value.value:
        return [str(v.value) for v in value.value], {}
    if isinstance(value, yaml.MappingNode):
        entry = yaml.safe_load(yaml.serialize(value)) or {}
        listed = entry.get("adapters")
        listed = [listed] if isinstance(listed, str) else listed
        options = entry.get("options") or {}
        unknown = set(entry) - {"adapters", "options"}
        if unknown:
            raise AdapterConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}; an entry has adapters: and options:")
        if not listed or not all(isinstance(s, str) for s in listed) or not isinstance(options, dict):
            raise AdapterConfigError(f"{where}: expected adapters: [python.module:ADAPTER, ...] and an options: mapping")
        return listed, options
    raise AdapterConfigError(f"{where}: expected 'python.module:ADAPTER', a list of them, or adapters: and options:")


def _adapter(spec: str, options: dict, where: str) -> SourceAdapter:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise AdapterConfigError(f"{where}: expected 'python.module:ADAPTER', not {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an adapter module that fails to import is the user's to fix
        raise AdapterConfigError(f"{where}: cannot import {module_name} ({type(exc).__name__}: {exc})") from None
    adapter = getattr(module, attribute, None)
    if callable(adapter) and not isinstance(adapter, SourceAdapter):
        try:
            adapter = adapter(options)
        except (ValueError, TypeError, KeyError) as exc:
            raise AdapterConfigError(f"{where}: options for {spec}: {exc}") from None
    if not isinstance(adapter, SourceAdapter):
        raise AdapterConfigError(f"{where}: {spec} is not a SourceAdapter")
    return adapter


def _mapping(root: yaml.Node, key: str):
    if not isinstance(root, yaml.MappingNode):
        return None
    for k, v in root.value:
        if k.value == key and isinstance(v, yaml.MappingNode):
            return v.value
    return None


@functools.cache
def default_adapters() -> dict[str, tuple[SourceAdapter, ...]]:
    """The shipped touchpoints.yml, read on first use: importing this package reads no file, so a worker
    that has the code but not the project's data/ folder imports it (the job hands workers the adapters
    it loaded)."""
    return load_adapters()
