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
# `_airbyte_meta`, ...) and to what its sources read (CDC's `_ab_cdc_lsn`, `_ab_cdc_deleted_at`,
# file sources' `_ab_source_file_url`, ...): bookkeeping, never user data, so never sent.
AIRBYTE_INTERNAL_PREFIXES = ("_airbyte_", "_ab_")


# A name spelled another way than its alias ranks after every alias as written (EMAIL loses to
# email), and still before any nested alias (100 and up).
FOLDED_RANK = 50


def fold(name: str) -> str:
    """A field name without letter case, `_`, `-` or spaces: the same for `first_name`,
    `FIRST_NAME` (Snowflake, Oracle), `FirstName` (Salesforce) and `first-name`."""
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


class AliasTable(dict):
    """name -> entry as written; `find` also takes a name spelled another way (see fold), at
    `folded_entry(entry)`. Lookups run when a layout is compiled, and per field on the general
    path only, so the fold costs the hot path nothing."""

    __slots__ = ("_folded", "_seen")

    def __init__(self, entries: Mapping = (), folded_entry: Any = None) -> None:
        super().__init__(entries)
        self._seen: dict[str, Any] = {}  # name -> what find gave: the general path asks per record
        self._folded: dict[str, Any] = {}
        for name, entry in self.items():  # best first: the first alias of a folded name keeps it
            self._folded.setdefault(fold(name), entry if folded_entry is None else folded_entry(entry))

    def find(self, name: str) -> Any:
        entry = self.get(name)
        if entry is None:
            entry = self._seen.get(name, _UNSEEN)
            if entry is _UNSEEN:
                entry = self._folded.get(fold(name))
                if len(self._seen) < MAX_REMEMBERED_NAMES:
                    self._seen[name] = entry
        return entry


def nested_parents(nested_tables: AliasTable, names: Any) -> dict[str, AliasTable]:
    """The fields (of a layout or a record) that are nested objects to take aliases from, with
    their tables: per table the field named as written, else the first spelled another way. A
    second spelling of the same object (`Address` beside `address`) is custom data, so two
    objects never compete for one canonical field."""
    chosen: dict[int, str] = {}
    for name in names:
        table = nested_tables.find(name)
        if table is not None:
            held = chosen.get(id(table))
            if held is None or (name in nested_tables and held not in nested_tables):
                chosen[id(table)] = name
    return {name: nested_tables.find(name) for name in chosen.values()}


NO_TABLES = AliasTable()
MAX_REMEMBERED_NAMES = 4096  # per table; names past it are folded each time
_UNSEEN = object()


def _folded_hit(hit: tuple[str, int]) -> tuple[str, int]:
    return hit[0], hit[1] + FOLDED_RANK


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


def tables_for(wanted: frozenset) -> tuple[AliasTable, AliasTable]:
    """The alias tables restricted to the canonical names a vendor maps, each finding names in
    any spelling (see fold)."""
    top = AliasTable({alias: hit for alias, hit in _TOP.items() if hit[0] in wanted}, _folded_hit)
    nested = {
        parent: AliasTable({key: hit for key, hit in keys.items() if hit[0] in wanted}, _folded_hit)
        for parent, keys in _NESTED.items()
    }
    return top, AliasTable({parent: keys for parent, keys in nested.items() if keys})


def split_record(
    data: Mapping[str, Any],
    wanted: frozenset,
    user_id_field: str | None = None,
    mapped: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a record into (canonical values the vendor maps, everything else by its own name).

    Only canonical names in `wanted` are taken; the rest stays under the record's own field
    names; an alias is found in any letter case and with or without `_`, `-` or spaces (`EMAIL`,
    `FirstName`), where it is not spelled as written. When two aliases carry the same canonical
    field, the better alias wins (as written beats another spelling) and the other stays in the
    rest, so no value is silently lost. `user_id_field` (the stream's single-column primary key)
    fills `user_id` when the record has no user id column at all; a null one is not replaced.
    Nulls are dropped.

    `mapped` (from the user's field_mapping) holds explicit canonical values: they win, and the
    record's default aliases of those names stay in the rest under their own names (a None value
    means mapped but absent from this record: the canonical field stays empty).

    Vendors hold a `splitter_for(wanted)` and call its `split` directly (same result, no lookup).
    """
    return splitter_for(wanted).split(data, user_id_field, mapped)


# Source for "`{v}` is text that is not blank", in the code compiled per layout (see erases).
NOT_BLANK = "{v} and not {v}.isspace()"


def erases(canonical: str, value: Any) -> bool:
    """Blank text in a canonical field other than the user id: like a null, it would erase what
    the vendor has (an email, a phone), so it is left out. A blank user id keeps its own
    rejection reason."""
    return value.__class__ is str and (not value or value.isspace()) and canonical != "user_id"


def _split_by_rank(
    data: Mapping[str, Any],
    top: AliasTable,
    nested_tables: AliasTable,
    parents: Mapping | None = None,
    hits: Mapping | None = None,
) -> tuple[dict, dict]:
    """The general case: aliases compete for a canonical name and the best-ranked one wins.
    `parents` (nested_parents) and `hits` (each field's `top.find`) of the record's layout, where
    the caller has them already: plain lookups per field instead of a method call."""
    if parents is None:
        parents = nested_parents(nested_tables, data)
    if hits is None:
        hits = {key: top.find(key) for key in data}
    canonical: dict[str, Any] = {}
    source: dict[str, tuple[int, str]] = {}
    rest: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        if value.__class__ is dict or value.__class__ is list:
            nested = parents.get(key)
            if nested is not None and value.__class__ is dict:
                leftover = _take_nested(key, value, nested, canonical, source)
                if leftover:
                    rest[key] = leftover
                continue
            value = drop_nulls(value)
            if value is None:
                continue
        hit = hits.get(key)
        if hit is None:
            if not key.startswith(AIRBYTE_INTERNAL_PREFIXES):
                rest[key] = value
            continue
        if erases(hit[0], value):
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
# compares them). Code generation as dataclasses and fastjsonschema do it: the source holds
# only `repr()` literals of field names, never values.
DROP = object()
PER_RECORD = object()
PLAIN_SCALARS = frozenset({str, int, float, bool})  # JSON scalars: kept as they are
MAX_LAYOUTS = 512  # layouts compiled per process (about 10-20 KiB each); later ones take the general path
MAX_COMPILED_FIELDS = 250  # wider objects take the general path (a local variable per field)
_compiled_layouts = 0
_SPLITTERS: dict[frozenset, "RecordSplitter"] = {}


def splitter_for(wanted: frozenset) -> "RecordSplitter":
    """The shared splitter for a set of canonical names (its compiled layouts are reused)."""
    splitter = _SPLITTERS.get(wanted)
    if splitter is None:
        splitter = _SPLITTERS[wanted] = RecordSplitter(wanted)
    return splitter


class RecordSplitter:
    """`split_record` for one set of wanted canonical names, compiled per record layout (and
    per primary-key field, which fills `user_id` when no alias does)."""

    def __init__(self, wanted: frozenset) -> None:
        self.wanted = wanted
        self._wants_user_id = "user_id" in wanted
        self._top, self._nested_tables = tables_for(wanted)
        self._layouts: dict[str | None, dict[tuple, Any]] = {None: {}}
        self._narrowed: dict[tuple, RecordSplitter] = {}
        self._nested: dict[str, _NestedSplitter] = {}

    def split(
        self, data: Mapping[str, Any], user_id_field: str | None = None, mapped: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """See split_record."""
        if mapped:
            return self._split_mapped(data, user_id_field, mapped)
        if not self._wants_user_id:
            user_id_field = None
        layouts = self._layouts.get(user_id_field)
        if layouts is None:
            layouts = self._layouts[user_id_field] = {}
        layout = tuple(data)
        split = layouts.get(layout) or self._learn(layouts, layout, user_id_field)
        canonical: dict[str, Any] = {}
        return canonical, split(data, canonical)

    def _split_mapped(self, data: Mapping[str, Any], user_id_field: str | None, mapped: Mapping) -> tuple[dict, dict]:
        """field_mapping's values win over aliases (the primary key fills user_id only where
        user_id is not mapped)."""
        names = tuple(mapped)
        narrowed = self._narrowed.get(names)
        if narrowed is None:
            narrowed = self._narrowed[names] = splitter_for(self.wanted.difference(mapped))
        canonical, rest = narrowed.split(data, user_id_field)
        for name, value in mapped.items():
            if value is not None and not erases(name, value):
                canonical[name] = value
        return canonical, rest

    def _learn(self, layouts: dict, layout: tuple, user_id_field: str | None) -> Any:
        top, nested_tables = self._top, self._nested_tables
        if names_user_id(top, layout):
            user_id_field = None  # the record's own user id column decides, null or not

        parents = nested_parents(nested_tables, layout)
        hits = {key: top.find(key) for key in layout}

        def general(data: Mapping[str, Any], canonical: dict) -> dict:
            found, rest = _split_by_rank(data, top, nested_tables, parents, hits)
            canonical.update(found)
            fill_user_id(canonical, rest, user_id_field)
            return rest

        def plan() -> list | None:
            routes = plan_routes(top, nested_tables, layout, drop_internal=True)
            if routes is None:
                return None
            return [self._nested_splitter(key) if route.__class__ is AliasTable else route for key, route in zip(layout, routes)]

        return _remember(layouts, layout, plan, general, user_id_field)

    def _nested_splitter(self, parent: str) -> "_NestedSplitter":
        """One per nested object name, so its inner layouts are compiled once for all layouts."""
        nested = self._nested.get(parent)
        if nested is None:
            nested = self._nested[parent] = _NestedSplitter(parent, self._nested_tables.find(parent))
        return nested


class _NestedSplitter:
    """Splits `address`/`company` objects by their own alias table, compiled per inner layout."""

    def __init__(self, parent: str, table: dict) -> None:
        self.parent = parent
        self.table = table
        self.layouts: dict[tuple, Any] = {}

    def learn(self, layout: tuple) -> Any:
        parent, table = self.parent, self.table

        def general(value: dict, canonical: dict) -> dict:
            return _take_nested(parent, value, table, canonical, {}) or {}

        return _remember(self.layouts, layout, lambda: plan_routes(table, NO_TABLES, layout, drop_internal=False), general)


def _remember(layouts: dict, layout: tuple, plan: Any, general: Any, user_id_field: str | None = None) -> Any:
    """Compile the layout's routes (`plan()`) into a splitter and cache it; `general` where the
    fields compete or the layout is too wide. Past the cap: `general`, neither planned nor cached."""
    global _compiled_layouts
    if _compiled_layouts >= MAX_LAYOUTS:
        return general
    _compiled_layouts += 1
    routes = plan() if len(layout) <= MAX_COMPILED_FIELDS else None
    split = general if routes is None else _compile_splitter(layout, routes, user_id_field)
    layouts[layout] = split
    return split


def names_user_id(top: AliasTable, layout: tuple) -> bool:
    """Whether a record of this layout has a user id column (an alias of user_id, in any
    spelling). Then that column alone is the user id: where it is null the record has none,
    and the primary key (a subscription's own id, say) must not stand in for it, or the row
    would update another user's profile."""
    return any((hit := top.find(key)) is not None and hit[0] == "user_id" for key in layout)


def user_id_source(layout: tuple, routes: list, user_id_field: str | None) -> Any:
    """How the primary key fills `user_id` in this layout: its index where the layout has no
    user id column (route it there), PER_RECORD where a nested object decides per record, None
    where it cannot or must not (see names_user_id)."""
    if user_id_field is None or user_id_field not in layout:
        return None
    index = layout.index(user_id_field)
    route = routes[index]
    if route is None:
        return None if "user_id" in routes else index
    if route.__class__ is str or route is DROP:  # a canonical field itself, or dropped
        return None
    return PER_RECORD  # a nested object: filled from what is left of it


def keep_lines(variable: str, target: str, indent: str = "    ", drop_blank: bool = False) -> list[str]:
    """Source for `target = variable`, nulls dropped at every depth; plain scalars, and lists of
    them, are kept without a call (drop_nulls would return them as they are). `drop_blank`:
    blank text is left out too (a canonical field: see erases)."""
    blank = [
        f"{indent}if {variable}.__class__ is str:",
        f"{indent}    if {NOT_BLANK.format(v=variable)}:",
        f"{indent}        {target} = {variable}",
    ]
    return (blank if drop_blank else []) + [
        f"{indent}{'elif' if drop_blank else 'if'} {variable}.__class__ in PLAIN:",
        f"{indent}    {target} = {variable}",
        f"{indent}elif {variable}.__class__ is list and {variable} and PLAIN.issuperset(map(type, {variable})):",
        f"{indent}    {target} = {variable}",
        f"{indent}elif {variable} is not None:",
        f"{indent}    {variable} = drop_nulls({variable})",
        f"{indent}    if {variable} is not None:",
        f"{indent}        {target} = {variable}",
    ]


def plan_routes(top: AliasTable, nested_tables: AliasTable, layout: tuple, drop_internal: bool) -> list | None:
    """Per field: None (custom data), a canonical name, a nested alias table, or DROP; None
    when two fields could claim one canonical name."""
    routes: list[Any] = []
    claimed: set[str] = set()
    nested_names: set[str] = set()
    parents = nested_parents(nested_tables, layout)
    for key in layout:
        nested = parents.get(key)
        if nested is not None:
            routes.append(nested)
            nested_names.update(hit[0] for hit in nested.values())
            continue
        hit = top.find(key)
        if hit is None:
            routes.append(DROP if drop_internal and key.startswith(AIRBYTE_INTERNAL_PREFIXES) else None)
        elif hit[0] in claimed:
            return None
        else:
            claimed.add(hit[0])
            routes.append(hit[0])
    return None if claimed & nested_names else routes


def fill_user_id(canonical: dict, rest: dict, user_id_field: str | None) -> None:
    """The stream's primary key fills `user_id` when no alias did (callers pass None where the
    record has a user id column): last, as split_record orders it."""
    if user_id_field is not None and "user_id" not in canonical:
        value = rest.pop(user_id_field, None)
        if value is not None:
            canonical["user_id"] = value


def _compile_splitter(layout: tuple, routes: list, user_id_field: str | None = None) -> Any:
    """`split(data, canonical) -> rest` for objects of exactly this layout, by the rules of
    _split_by_rank: nulls dropped at every depth, nested objects split by their own table; then
    `user_id_field` fills `user_id` when no alias did (last, as split_record orders it)."""
    lines = ["def split(data, canonical):", "    rest = {}"]
    if layout:
        lines.append(f"    {', '.join(f'v{index}' for index in range(len(layout)))}, = data.values()")
    namespace: dict[str, Any] = {"drop_nulls": drop_nulls, "PLAIN": PLAIN_SCALARS}
    source = user_id_source(layout, routes, user_id_field)
    if source is not None and source is not PER_RECORD:
        lines.append("    user_id = None")
    for index, (key, route) in enumerate(zip(layout, routes)):
        name, field = f"v{index}", repr(key)
        if route is DROP:
            continue
        if index == source:  # cleaned here, placed last like split_record's fallback
            lines += keep_lines(name, "user_id")
        elif route.__class__ is _NestedSplitter:
            namespace[f"layouts{index}"], namespace[f"learn{index}"] = route.layouts, route.learn
            lines += [
                f"    if {name}.__class__ is dict:",
                f"        inner = tuple({name})",
                f"        leftover = (layouts{index}.get(inner) or learn{index}(inner))({name}, canonical)",
                "        if leftover:",
                f"            rest[{field}] = leftover",
                "    else:",
                *keep_lines(name, f"rest[{field}]", indent="        "),
            ]
        else:
            if route.__class__ is str:
                lines += keep_lines(name, f"canonical[{route!r}]", drop_blank=route != "user_id")
            else:
                lines += keep_lines(name, f"rest[{field}]")
    if source is PER_RECORD:
        lines += [
            "    if 'user_id' not in canonical:",
            f"        value = rest.pop({user_id_field!r}, None)",
            "        if value is not None:",
            "            canonical['user_id'] = value",
        ]
    elif source is not None:
        lines += ["    if user_id is not None:", "        canonical['user_id'] = user_id"]
    lines.append("    return rest")
    exec(compile("\n".join(lines), "<fields: split one layout>", "exec"), namespace)  # noqa: S102 - literals only
    return namespace["split"]


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


def _take_nested(parent: str, value: dict, nested: dict, canonical: dict, source: dict) -> dict | None:
    """Take `address.city`-style aliases out of an object; returns what is left of it."""
    leftover = {}
    for sub_key, sub_value in value.items():
        if sub_value is None:
            continue
        if sub_value.__class__ is dict or sub_value.__class__ is list:
            sub_value = drop_nulls(sub_value)
            if sub_value is None:
                continue
        hit = nested.find(sub_key)
        if hit is None:
            leftover[sub_key] = sub_value
            continue
        if erases(hit[0], sub_value):
            continue
        lost = _claim(canonical, source, hit, f"{parent}.{sub_key}", sub_value)
        if lost is not None:  # a worse alias inside this same object (top-level ones always rank better)
            leftover[lost[0].split(".", 1)[1]] = lost[1]
    return leftover or None
