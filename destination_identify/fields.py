"""The canonical identify vocabulary and the record field names that mean each canonical field.

Sources name things their own way (`firstName`, `address.postal_code`); vendors want their own
names. Every vendor table speaks in these canonical names, so aliases live in one place.
"""

from typing import Any, Mapping

# canonical name -> accepted top-level record fields, best first.
TOP_LEVEL_ALIASES: Mapping[str, tuple[str, ...]] = {
    "user_id": ("user_id", "userId"),
    "email": ("email",),
    "name": ("name",),
    "first_name": ("first_name", "firstName"),
    "last_name": ("last_name", "lastName"),
    "phone": ("phone",),
    "avatar": ("avatar",),
    "title": ("title",),
    "company_id": ("company_id", "companyId"),
    "company_name": ("company_name", "companyName"),
    "street1": ("street1", "street"),
    "street2": ("street2",),
    "city": ("city",),
    "state": ("state",),
    "postal_code": ("postal_code", "postalCode", "zip"),
    "country": ("country",),
    "timezone": ("timezone",),
    "gender": ("gender",),
    "ip": ("ip",),
    "created_at": ("created_at", "createdAt", "signed_up_at", "signedUpAt"),
}

# object field -> {key inside it -> canonical name}; used after every top-level alias.
NESTED_ALIASES: Mapping[str, Mapping[str, str]] = {
    "address": {
        "street1": "street1",
        "street": "street1",
        "street2": "street2",
        "city": "city",
        "state": "state",
        "postal_code": "postal_code",
        "postalCode": "postal_code",
        "zip": "postal_code",
        "country": "country",
    },
    "company": {"id": "company_id", "name": "company_name"},
}

CANONICAL_FIELDS = tuple(TOP_LEVEL_ALIASES)
# Columns Airbyte adds to tables it loads (`_airbyte_raw_id`, `_airbyte_extracted_at`,
# `_airbyte_meta`, ...): bookkeeping, never user data, so never sent to a vendor.
AIRBYTE_INTERNAL_PREFIX = "_airbyte_"


def _rank_tables() -> tuple[dict[str, tuple[str, int]], dict[str, dict[str, tuple[str, int]]]]:
    top = {}
    for canonical, aliases in TOP_LEVEL_ALIASES.items():
        for rank, alias in enumerate(aliases):
            top[alias] = (canonical, rank)
    nested = {}
    for parent, keys in NESTED_ALIASES.items():
        nested[parent] = {key: (canonical, 100 + rank) for rank, (key, canonical) in enumerate(keys.items())}
    return top, nested


_TOP, _NESTED = _rank_tables()


def drop_nulls(value: Any) -> Any:
    """Nulls would erase vendor data: remove them at every depth. Returns None if nothing is left."""
    kind = value.__class__
    if kind is dict:
        kept = {key: clean for key, item in value.items() if (clean := drop_nulls(item)) is not None}
        return kept or None
    if kind is list:
        for item in value:  # the common list of plain scalars is kept as it is
            if item is None or item.__class__ is dict or item.__class__ is list:
                break
        else:
            return value or None
        kept_list = [clean for item in value if (clean := drop_nulls(item)) is not None]
        return kept_list or None
    return value


def _keep_in_rest(rest: dict, field: str, value: Any) -> None:
    """Put a displaced alias back under its own name (`address.city` back inside `address`)."""
    if "." in field:
        parent, key = field.split(".", 1)
        rest.setdefault(parent, {})[key] = value
    else:
        rest[field] = value


_TABLES: dict[frozenset, tuple[dict, dict]] = {}


def _tables_for(wanted: frozenset) -> tuple[dict, dict]:
    """The alias tables restricted to the canonical names a vendor maps (cached per vendor)."""
    tables = _TABLES.get(wanted)
    if tables is None:
        top = {alias: hit for alias, hit in _TOP.items() if hit[0] in wanted}
        nested = {
            parent: {key: hit for key, hit in keys.items() if hit[0] in wanted} for parent, keys in _NESTED.items()
        }
        tables = _TABLES[wanted] = (top, {parent: keys for parent, keys in nested.items() if keys})
    return tables


def split_record(
    data: Mapping[str, Any],
    wanted: frozenset,
    user_id_field: str | None = None,
    mapped: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a record into (canonical values the vendor maps, everything else by its own name).

    Only canonical names in `wanted` are taken; the rest stays under the record's own field
    names. When two aliases carry the same canonical field, the better alias wins and the other
    stays in the rest, so no value is silently lost. `user_id_field` (the stream's single-column
    primary key) fills `user_id` when no user id alias is present. Nulls are dropped.

    `mapped` (from the user's field_mapping) holds explicit canonical values: they win, and the
    record's default aliases of those names stay in the rest under their own names (a None value
    means mapped but absent from this record: the canonical field stays empty).
    """
    if mapped:
        wanted = frozenset(wanted.difference(mapped))
    top, nested_tables = _tables_for(wanted)
    splitter = _splitter_for(wanted, top, nested_tables, data)
    if splitter is None:
        canonical, rest = _split_by_rank(data, top, nested_tables)
    else:
        canonical = {}
        rest = splitter(data, canonical)
    if mapped:
        for name, value in mapped.items():
            if value is not None:
                canonical[name] = value
    if user_id_field is not None and "user_id" in wanted and "user_id" not in canonical:
        value = rest.pop(user_id_field, None)
        if value is not None:
            canonical["user_id"] = value
    return canonical, rest


def _split_by_rank(data: Mapping[str, Any], top: dict, nested_tables: dict) -> tuple[dict, dict]:
    """The general case: aliases compete for a canonical name and the best-ranked one wins."""
    canonical: dict[str, Any] = {}
    source: dict[str, tuple[int, str]] = {}
    rest: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        if value.__class__ is dict or value.__class__ is list:
            nested = nested_tables.get(key)
            if nested is not None and value.__class__ is dict:
                leftover = _take_nested(key, value, nested, canonical, source, rest)
                if leftover:
                    rest[key] = leftover
                continue
            value = drop_nulls(value)
            if value is None:
                continue
        hit = top.get(key)
        if hit is None:
            if not key.startswith(AIRBYTE_INTERNAL_PREFIX):
                rest[key] = value
            continue
        lost = _claim(canonical, source, hit, key, value)
        if lost is not None:
            _keep_in_rest(rest, *lost)
    return canonical, rest


# The fast path. Records of a stream share their field names, so where no two fields compete
# for one canonical name, each field's destination depends only on its name: work it out once
# per layout (the tuple of field names) and compile it into a small function that unpacks the
# values and routes each by position, with no per-field lookups. Layouts with competing aliases
# take the general path above; both give the same result, key order included (a property test
# compares them). Code generation, as dataclasses and fastjsonschema do it: the source holds
# only `repr()` literals of field names, never values.
_DROP = object()
_NO_NESTED: dict = {}
_SPLITTERS: dict[tuple, Any] = {}
MAX_LAYOUTS = 4096  # distinct layouts compiled per process; later ones take the general path
MAX_COMPILED_FIELDS = 250  # wider records take the general path (a local variable per field)


def _splitter_for(
    wanted: Any, top: dict, nested_tables: dict, data: Mapping[str, Any], drop_internal: bool = True
) -> Any:
    """The compiled splitter for this layout, or None; `wanted` (or a nested table's id) keys the cache."""
    layout = tuple(data)
    cache_key = (wanted if wanted.__class__ is frozenset else id(wanted), layout)
    try:
        return _SPLITTERS[cache_key]
    except KeyError:
        pass
    if len(_SPLITTERS) >= MAX_LAYOUTS or len(layout) > MAX_COMPILED_FIELDS:
        return None
    routes = _plan_routes(top, nested_tables, layout, drop_internal)
    splitter = _SPLITTERS[cache_key] = None if routes is None else _compile_splitter(layout, routes)
    return splitter


def _plan_routes(top: dict, nested_tables: dict, layout: tuple, drop_internal: bool) -> tuple | None:
    """Per field: None (custom data), a canonical name, a nested alias table, or _DROP."""
    routes: list[Any] = []
    claimed: set[str] = set()
    nested_names: set[str] = set()
    for key in layout:
        nested = nested_tables.get(key)
        if nested is not None:
            routes.append(nested)
            nested_names.update(hit[0] for hit in nested.values())
            continue
        hit = top.get(key)
        if hit is None:
            routes.append(_DROP if drop_internal and key.startswith(AIRBYTE_INTERNAL_PREFIX) else None)
        elif hit[0] in claimed:
            return None
        else:
            claimed.add(hit[0])
            routes.append(hit[0])
    return None if claimed & nested_names else tuple(routes)


def _compile_splitter(layout: tuple, routes: tuple) -> Any:
    """`split(data, canonical) -> rest` for records of exactly this layout (see _split_by_rank
    for the rules: nulls dropped at every depth, nested objects split by their own table)."""
    lines = ["def split(data, canonical):", "    rest = {}"]
    names = [f"v{index}" for index in range(len(layout))]
    if len(layout) == 1:
        lines.append(f"    {names[0]}, = data.values()")
    elif layout:
        lines.append(f"    {', '.join(names)} = data.values()")
    tables = {}
    for index, (key, route, name) in enumerate(zip(layout, routes, names)):
        if route is _DROP:
            continue
        field = repr(key)
        lines.append(f"    if {name} is not None:")
        lines.append(f"        kind = {name}.__class__")
        if route.__class__ is dict:
            tables[f"table{index}"] = route
            lines.append("        if kind is dict:")
            lines.append(f"            leftover = split_nested({field}, {name}, table{index}, canonical, rest)")
            lines.append("            if leftover:")
            lines.append(f"                rest[{field}] = leftover")
            lines.append("        elif kind is list:")
            lines.append(f"            {name} = drop_nulls({name})")
            lines.append(f"            if {name} is not None:")
            lines.append(f"                rest[{field}] = {name}")
            lines.append("        else:")
            lines.append(f"            rest[{field}] = {name}")
            continue
        target = f"canonical[{route!r}]" if route.__class__ is str else f"rest[{field}]"
        lines.append("        if kind is dict or kind is list:")
        lines.append(f"            {name} = drop_nulls({name})")
        lines.append(f"            if {name} is not None:")
        lines.append(f"                {target} = {name}")
        lines.append("        else:")
        lines.append(f"            {target} = {name}")
    lines.append("    return rest")
    namespace = {"drop_nulls": drop_nulls, "split_nested": _split_nested, **tables}
    exec(compile("\n".join(lines), "<fields.split layout>", "exec"), namespace)  # noqa: S102 - our own literals only
    return namespace["split"]


def _split_nested(key: str, value: dict, table: dict, canonical: dict, rest: dict) -> dict | None:
    """An `address`/`company` object on the fast path: its own splitter, unless aliases compete in it."""
    splitter = _splitter_for(table, table, _NO_NESTED, value, drop_internal=False)
    if splitter is None:
        return _take_nested(key, value, table, canonical, {}, rest)
    return splitter(value, canonical) or None


def _claim(canonical: dict, source: dict, hit: tuple[str, int], origin: str, value: Any) -> tuple[str, Any] | None:
    """Offer `value` (from field `origin`) for a canonical name; the better-ranked alias keeps it.
    Returns the losing (field, value), which the caller keeps under its own name, or None."""
    name, rank = hit
    previous = source.get(name)
    if previous is not None and rank >= previous[0]:
        return origin, value
    source[name] = (rank, origin)
    displaced = canonical.get(name)
    canonical[name] = value
    return None if previous is None else (previous[1], displaced)


def _take_nested(parent: str, value: dict, nested: dict, canonical: dict, source: dict, rest: dict) -> dict | None:
    """Take `address.city`-style aliases out of an object; returns what is left of it."""
    leftover = {}
    for sub_key, sub_value in value.items():
        if sub_value is None:
            continue
        if sub_value.__class__ is dict or sub_value.__class__ is list:
            sub_value = drop_nulls(sub_value)
            if sub_value is None:
                continue
        hit = nested.get(sub_key)
        if hit is None:
            leftover[sub_key] = sub_value
            continue
        lost = _claim(canonical, source, hit, f"{parent}.{sub_key}", sub_value)
        if lost is not None:  # a worse alias inside this same object (top-level ones always rank better)
            leftover[lost[0].split(".", 1)[1]] = lost[1]
    return leftover or None
