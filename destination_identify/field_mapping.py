"""The user's mapping controls: `field_mapping`, `exclude_fields` and `unmapped_fields`.

Compiled once from the config (ConfigError names a target the vendor does not have, a target
mapped twice, an empty or malformed source) into a `RecordMapper` whose `map` is pure:

1. `exclude_fields` are removed from the record;
2. each mapped source is taken out of the record (dots reach into nested objects; a key that
   itself holds the dotted text wins);
3. with `unmapped_fields: drop`, only the fields that name a canonical field the vendor maps
   (the stream's primary key when it stands in for the user id) and, by their own top-level
   name, the vendor's documented fields (`native_fields`, `own_names`) stay;
4. the vendor maps the rest, with the mapped canonical values winning over name-based defaults;
5. values mapped to vendor-native places are put there by the vendor, under its value rules.

It knows vendors only through the `Vendor` hooks (canonical_targets, native_target, place_native).
"""

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.fields import drop_nulls, splitter_for
from destination_identify.vendors.base import Vendor

UNMAPPED_CHOICES = ("send", "drop")
_RULE_KEYS = frozenset({"source", "target"})


@dataclass(frozen=True)
class Rule:
    source: str
    target: str
    canonical: bool  # True: a canonical field name; False: `place` is a vendor-native place
    place: Any = None


def split_path(text: str, option: str) -> tuple[str, ...]:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{option}: a field path must be non-empty text")
    parts = tuple(text.split("."))
    if any(not part for part in parts):
        raise ConfigError(f"{option}: '{text}' has an empty part (dots separate nested field names)")
    return parts


def take(data: dict, source: str) -> Any:
    """Remove and return `source` from `data` (in place at the top; nested objects are copied,
    never changed). A key holding the whole dotted text wins over the nested reading. An object
    left empty by the removal is removed too. Returns None when absent."""
    if source in data:
        return data.pop(source)
    head, dot, tail = source.partition(".")
    if not dot:
        return None
    parent = data.get(head)
    if parent.__class__ is not dict:
        return None
    parent = dict(parent)
    value = take(parent, tail)
    if parent:
        data[head] = parent
    else:
        del data[head]
    return value


class RecordMapper:
    """Maps one record's data to one vendor payload item, the user's mapping controls applied."""

    def __init__(
        self, vendor: Vendor, rules: Sequence[Rule] = (), exclude: Sequence[str] = (), unmapped: str = "send"
    ) -> None:
        self.vendor = vendor
        self.rules = tuple(rules)
        self.exclude = tuple(exclude)
        self.drop_unmapped = unmapped == "drop"
        # longest sources first: `profile.mail` is taken before `profile` takes what is left
        self._sources = sorted({rule.source for rule in self.rules}, key=lambda source: -source.count("."))
        canonical_names = frozenset(rule.target for rule in self.rules if rule.canonical)
        # unmapped_fields: drop keeps only what the vendor's own aliases still map, and the
        # vendor's documented fields by their own top-level name (Userpilot's reserved `email`,
        # Thrivestack's `enrichment_*` traits), unless a rule fills that place from another
        # column: (name, the canonical field it fills or None)
        self._mapped_by_aliases = splitter_for(vendor.canonical_targets() - canonical_names)
        native_places = {rule.place for rule in self.rules if not rule.canonical}
        self._kept_by_name = tuple(
            (name, None)
            for name, (target, _, _) in vendor.native_fields().items()
            if vendor.native_target(target) not in native_places
        ) + tuple((name, field) for name, field in vendor.own_names().items() if field not in canonical_names)
        self._kept_names = frozenset(name for name, _ in self._kept_by_name)
        self.active = bool(self.rules or self.exclude or self.drop_unmapped)

    def map(self, data: Mapping[str, Any], emitted_at: Any, user_id_field: str | None) -> dict:
        data = dict(data)
        for path in self.exclude:
            take(data, path)
        values = {}
        for source in self._sources:
            value = take(data, source)
            if value.__class__ is dict or value.__class__ is list:
                value = drop_nulls(value)
            values[source] = value
        mapped: dict[str, Any] = {}
        natives = []
        for rule in self.rules:
            value = values[rule.source]
            if rule.canonical:
                mapped[rule.target] = value
            elif value is not None:
                natives.append((rule.place, value))
        if self.drop_unmapped:
            kept, _ = self._mapped_by_aliases.split(data, user_id_field)
            if not self._kept_names.isdisjoint(data):  # most records have none: skip the walk
                for name, fills in self._kept_by_name:
                    if name in data and name not in kept and fills not in kept:  # an alias filled it already
                        kept[name] = data[name]
            data = kept
        natives = natives_into_data(self.vendor, data, natives)
        payload = self.vendor.map_record(data, emitted_at, user_id_field, mapped or None)
        place_natives(self.vendor, payload, natives)
        return payload


def natives_into_data(vendor: Vendor, data: dict, natives: list) -> list:
    """Where the vendor keeps custom data under field names (Zaius attributes), a native value is
    just a field of that name: put it in `data`, so the vendor's own checks (identifiers) see it.
    Returns the natives still to be placed after mapping."""
    if not natives or not vendor.native_places_are_fields:
        return natives
    for place, value in natives:
        if place in data:
            raise RecordRejected(f"two fields map to '{place}'; remove or rename one")
        data[place] = value
    return []


def place_natives(vendor: Vendor, payload: dict, natives: list) -> None:
    for place, value in natives:
        vendor.place_native(payload, place, value)


def compile_mapping(vendor: Vendor, field_mapping: Any, exclude_fields: Any, unmapped_fields: Any) -> RecordMapper:
    """Check the three options against the vendor; ConfigError says which entry is wrong."""
    unmapped = "send" if unmapped_fields is None else unmapped_fields
    if unmapped not in UNMAPPED_CHOICES:
        raise ConfigError(f"unmapped_fields must be one of {', '.join(UNMAPPED_CHOICES)}")
    exclude = _exclude_list(exclude_fields)
    rules = _rules(vendor, field_mapping)
    for rule in rules:
        if rule.source in exclude:
            raise ConfigError(f"field_mapping: source '{rule.source}' is also in exclude_fields; keep only one")
    return RecordMapper(vendor, rules, exclude, unmapped)


def _exclude_list(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError("exclude_fields must be a list of field names")
    paths = []
    for item in raw:
        split_path(item, "exclude_fields")
        if item not in paths:
            paths.append(item)
    return paths


def _rules(vendor: Vendor, raw: Any) -> list[Rule]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError('field_mapping must be a list of {"source": ..., "target": ...} objects')
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    canonical_names = vendor.canonical_targets()
    for number, entry in enumerate(raw, 1):
        where = f"field_mapping entry {number}"
        if not isinstance(entry, Mapping):
            raise ConfigError(f'{where} must be an object {{"source": ..., "target": ...}}')
        unknown = sorted(set(entry) - _RULE_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key '{unknown[0]}' (allowed: source, target)")
        source, target = entry.get("source"), entry.get("target")
        split_path(source, f"{where} source")
        if not isinstance(target, str) or not target.strip():
            raise ConfigError(f"{where}: target must be non-empty text")
        if target in seen:
            raise ConfigError(
                f"field_mapping: target '{target}' is mapped twice (from '{seen[target]}' and '{source}'); keep one"
            )
        seen[target] = source
        if target in canonical_names:
            rules.append(Rule(source, target, canonical=True))
            continue
        place = vendor.native_target(target)
        if place is None:
            raise ConfigError(
                f"field_mapping target '{target}' does not exist for {vendor.title}: use one of its fields "
                f"({', '.join(sorted(canonical_names))}) or {vendor.native_syntax}"
            )
        rules.append(Rule(source, target, canonical=False, place=place))
    return rules
