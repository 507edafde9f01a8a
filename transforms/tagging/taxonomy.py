"""Load and check the taxonomy a user edits: reasons.yml, outcomes.yml and phases.yml in one folder.

Errors name the file, the entry and the field, e.g.
    reasons.yml: reasons[3] (billing_confusion): dimension 'money' is not one of people, product, process
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from transforms.schema import JOURNEY_PHASES, OUTCOMES, PHASE_SIGNALS

DIMENSIONS = ("people", "product", "process")
# Below these similarities the example-based tiers leave a text 'unknown' (their scales differ). When the
# embedding tier follows, the examples tier keeps only what it is surer of and leaves the rest to it.
LEARNED_FILE = "learned_examples.jsonl"  # written by `cx tags train`
CALIBRATION_FILE = "calibration.json"    # written by `cx tags train`
CALIBRATED_TIERS = ("examples", "embeddings")
DEFAULT_MIN_CONFIDENCE = {"examples": 0.5, "examples_before_embeddings": 0.9, "embeddings": 0.5}
DEFAULT_TAXONOMY = Path(__file__).resolve().parents[2] / "data" / "taxonomy"


class TaxonomyError(ValueError):
    """The taxonomy files cannot be used as they are."""


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    dimension: str
    phase: str | None
    patterns: tuple[str, ...]
    codes: tuple[str, ...]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class PhaseRule:
    phase: str
    interaction_type: str | None
    source_code: str | None
    signal: str = "milestone"


@dataclass(frozen=True)
class Taxonomy:
    reasons: tuple[Reason, ...]
    min_confidence: dict[str, float]
    outcome_codes: dict[str, dict[str, str]]
    outcome_cues: tuple[tuple[str, tuple[str, ...]], ...]
    outcome_defaults: dict[str, str]
    phase_rules: tuple[PhaseRule, ...]
    # tier -> (temperature, floor) fitted to a team's labels by `cx tags train`; absent: the tier's defaults
    calibration: dict[str, tuple[float, float]] = field(default_factory=dict)

    def reason(self, code: str) -> Reason:
        return next(r for r in self.reasons if r.code == code)


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaxonomyError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise TaxonomyError(f"{path.name}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise TaxonomyError(f"{path.name}: expected a mapping at the top level")
    if data.get("version") != 1:
        raise TaxonomyError(f"{path.name}: version must be 1, found {data.get('version')!r}")
    return data


def _strings(value, where: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TaxonomyError(f"{where}: {field} must be a list of strings")
    return tuple(value)


def _check_pattern(pattern: str, where: str, field: str) -> None:
    """Patterns run as RE2 (Arrow's regex engine) on the workers: checked with that engine here, so a
    lookahead or a backreference is a config error at load, not a failure inside a worker."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        re.compile(pattern)
        pc.match_substring_regex(pa.array([""]), "(?i)" + pattern)
    except (re.error, pa.ArrowInvalid) as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise TaxonomyError(f"{where}: {field} {pattern!r} is not a regular expression RE2 runs ({reason})") from None


def _min_confidence(path: Path, value) -> dict[str, float]:
    """`min_confidence: {examples: 0.2, embeddings: 0.5}`; a single number sets the examples tier."""
    if value is None:
        return dict(DEFAULT_MIN_CONFIDENCE)
    if isinstance(value, (int, float)):
        value = {"examples": value}
    if not isinstance(value, dict):
        raise TaxonomyError(f"{path.name}: min_confidence must be a number or a mapping of tier to number")
    merged = dict(DEFAULT_MIN_CONFIDENCE)
    for tier, threshold in value.items():
        if tier not in DEFAULT_MIN_CONFIDENCE:
            raise TaxonomyError(f"{path.name}: min_confidence.{tier}: not one of {', '.join(DEFAULT_MIN_CONFIDENCE)}")
        if not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise TaxonomyError(f"{path.name}: min_confidence.{tier} must be a number from 0 to 1, found {threshold!r}")
        merged[tier] = float(threshold)
    return merged


def _reasons(path: Path) -> tuple[tuple[Reason, ...], dict[str, float]]:
    data = _read(path)
    min_confidence = _min_confidence(path, data.get("min_confidence"))
    entries = data.get("reasons")
    if not isinstance(entries, list) or not entries:
        raise TaxonomyError(f"{path.name}: 'reasons' must be a non-empty list")
    reasons, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"{path.name}: reasons[{i}]"
        if not isinstance(entry, dict):
            raise TaxonomyError(f"{where}: expected a mapping")
        code = entry.get("code")
        if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", code):
            raise TaxonomyError(f"{where}: code must be lower_snake_case text, found {code!r}")
        where = f"{where} ({code})"
        if code in seen:
            raise TaxonomyError(f"{where}: code is used twice")
        seen.add(code)
        if code == "unknown":
            raise TaxonomyError(f"{where}: 'unknown' is reserved for text no tier could tag")
        dimension = entry.get("dimension")
        if dimension not in DIMENSIONS:
            raise TaxonomyError(f"{where}: dimension {dimension!r} is not one of {', '.join(DIMENSIONS)}")
        phase = entry.get("phase")
        if phase is not None and phase not in JOURNEY_PHASES:
            raise TaxonomyError(f"{where}: phase {phase!r} is not one of {', '.join(JOURNEY_PHASES)}")
        patterns = _strings(entry.get("patterns"), where, "patterns")
        for pattern in patterns:
            _check_pattern(pattern, where, "pattern")
        codes = _strings(entry.get("codes"), where, "codes")
        for c in codes:
            if ":" not in c:
                raise TaxonomyError(f"{where}: code {c!r} must read '<touchpoint>:<source code>'")
        reasons.append(Reason(code, str(entry.get("label") or code), dimension, phase, patterns, codes,
                              _strings(entry.get("examples"), where, "examples")))
    return tuple(reasons), min_confidence


def _outcomes(path: Path):
    data = _read(path)
    codes = data.get("codes") or {}
    if not isinstance(codes, dict):
        raise TaxonomyError(f"{path.name}: 'codes' must map touchpoints to code: outcome mappings")
    for touchpoint, mapping in codes.items():
        if not isinstance(mapping, dict):
            raise TaxonomyError(f"{path.name}: codes.{touchpoint} must map source codes to outcomes")
        for code, outcome in mapping.items():
            if outcome not in OUTCOMES:
                raise TaxonomyError(f"{path.name}: codes.{touchpoint}.{code}: outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    cues = []
    for i, cue in enumerate(data.get("text_cues") or []):
        where = f"{path.name}: text_cues[{i}]"
        if not isinstance(cue, dict) or cue.get("outcome") not in OUTCOMES:
            raise TaxonomyError(f"{where}: outcome must be one of {', '.join(OUTCOMES)}")
        patterns = _strings(cue.get("patterns"), where, "patterns")
        for pattern in patterns:
            _check_pattern(pattern, where, "pattern")
        cues.append((cue["outcome"], patterns))
    defaults = data.get("defaults") or {}
    for touchpoint, outcome in defaults.items():
        if outcome not in OUTCOMES:
            raise TaxonomyError(f"{path.name}: defaults.{touchpoint}: outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    return {str(t): {str(k): v for k, v in m.items()} for t, m in codes.items()}, tuple(cues), dict(defaults)


def _phases(path: Path) -> tuple[PhaseRule, ...]:
    data = _read(path)
    declared = [p.get("code") for p in data.get("phases") or [] if isinstance(p, dict)]
    if tuple(declared) != JOURNEY_PHASES:
        raise TaxonomyError(f"{path.name}: phases must list the six journey phases in order: {', '.join(JOURNEY_PHASES)}")
    rules = []
    for i, rule in enumerate(data.get("rules") or []):
        where = f"{path.name}: rules[{i}]"
        if not isinstance(rule, dict):
            raise TaxonomyError(f"{where}: expected a mapping")
        if rule.get("phase") not in JOURNEY_PHASES:
            raise TaxonomyError(f"{where}: phase {rule.get('phase')!r} is not one of {', '.join(JOURNEY_PHASES)}")
        if not rule.get("interaction_type") and not rule.get("source_code"):
            raise TaxonomyError(f"{where}: give interaction_type, source_code or both")
        if rule.get("source_code"):
            _check_pattern(rule["source_code"], where, "source_code")
        if rule.get("signal") not in PHASE_SIGNALS:
            raise TaxonomyError(f"{where}: signal {rule.get('signal')!r} is not one of {', '.join(PHASE_SIGNALS)}")
        rules.append(PhaseRule(rule["phase"], rule.get("interaction_type"), rule.get("source_code"), rule["signal"]))
    return tuple(rules)


def json_objects(text: str, where: str, error: type[ValueError]):
    """(line number, object) of each non-blank line of JSON Lines; `error` names where and why otherwise."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{where}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise error(f"{where}:{number}: expected a JSON object")
        yield number, row


def _learned(path: Path, reasons: tuple[Reason, ...]) -> tuple[Reason, ...]:
    """Add the examples `cx tags train` learned from labeled contacts (learned_examples.jsonl) to their reasons."""
    if not path.is_file():
        return reasons
    known = {r.code for r in reasons}
    learned: dict[str, list[str]] = {}
    for number, row in json_objects(path.read_text(encoding="utf-8"), path.name, TaxonomyError):
        if not isinstance(row.get("text"), str) or row.get("reason") not in known:
            raise TaxonomyError(f"{path.name}:{number}: needs 'text' and a 'reason' the taxonomy knows")
        learned.setdefault(row["reason"], []).append(row["text"])
    return tuple(replace(r, examples=r.examples + tuple(learned.get(r.code, ()))) for r in reasons)


def load_taxonomy(folder: str | Path | None = None, learned: bool = True) -> Taxonomy:
    """Read and check the taxonomy files in `folder` (the shipped default when None); with `learned`,
    the examples learned from labeled contacts join the written ones."""
    folder = Path(folder) if folder else DEFAULT_TAXONOMY
    if not folder.is_dir():
        raise TaxonomyError(f"{folder}: taxonomy folder not found")
    codes, cues, defaults = _outcomes(folder / "outcomes.yml")
    reasons, min_confidence = _reasons(folder / "reasons.yml")
    calibration = {}
    if learned:
        reasons = _learned(folder / LEARNED_FILE, reasons)
        calibration = _calibration(folder / CALIBRATION_FILE)
    return Taxonomy(reasons, min_confidence, codes, cues, defaults, _phases(folder / "phases.yml"), calibration)


def _calibration(path: Path) -> dict[str, tuple[float, float]]:
    """{"examples": {"temperature": 0.04, "floor": 0.3}, ...} as fitted by `cx tags train`."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        fitted = {tier: (float(data[tier]["temperature"]), float(data[tier]["floor"])) for tier in data if tier in CALIBRATED_TIERS}
    except (ValueError, TypeError, KeyError) as exc:
        raise TaxonomyError(f"{path.name}: expected {{tier: {{temperature, floor}}}} for {', '.join(CALIBRATED_TIERS)} ({exc})") from None
    if any(not 0 < t <= 1 or not -1 <= f <= 1 for t, f in fitted.values()):
        raise TaxonomyError(f"{path.name}: temperatures must be in (0, 1] and floors in [-1, 1]")
    return fitted
