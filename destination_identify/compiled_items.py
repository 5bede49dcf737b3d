"""Whole-record mapping compiled per record layout, for vendors whose item is placed canonical
fields plus every other field as it is (Thrivestack: `user_id`, `traits`, `context`).

fields.py compiles the split into canonical and other fields; the vendor then walks both again
to place and convert them. Here split and placement are one generated function per layout, so
each value is touched once: on the Thrivestack path this halves the mapping cost. The vendor's
own general mapping stays the definition; a layout this cannot express exactly (competing
aliases, a custom field that could collide with a placed one) returns None and the vendor maps
the record the general way. Nested objects are unpacked by position too, so a layout is compiled
per shape of its nested objects. A property test compares the two, byte for byte and reason for
reason.
"""

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from destination_identify.errors import RecordRejected
from destination_identify.fields import (
    MAX_COMPILED_FIELDS,
    NOT_BLANK,
    NO_TABLES,
    AliasTable,
    PER_RECORD,
    PLAIN_SCALARS,
    drop_nulls,
    keep_lines,
    nested_parents,
    plan_routes,
    tables_for,
    user_id_source,
)
from destination_identify.values import identifier_text, scalar_text, text_list

MAX_COMPILED_ITEMS = 256  # layouts compiled per shape (about 20 KiB each); later ones map the general way
_UNSEEN = object()
_TEXT_CASE = "{v}.__class__ is str"  # an inline case for text (and, maybe, more conditions on it)
# The common cases of known converters, written inline: (condition on {v}, result) pairs, each
# giving exactly what the converter returns for such a value; anything else calls it.
INLINE_CASES: dict[Callable, tuple[tuple[str, str], ...]] = {
    scalar_text: (("{v}.__class__ is str", "{v}"),),
    identifier_text: (
        ("{v}.__class__ is str and " + NOT_BLANK, "{v}"),
        ("{v}.__class__ is int", "str({v})"),
    ),
    text_list: (("{v}.__class__ is str", "[{v}]"),),
}


@dataclass(frozen=True)
class Placement:
    """Where a canonical field goes: `section` of the item ('' for the item itself), `key`, and
    the converter (its common cases inline where INLINE_CASES knows it)."""

    section: str
    key: str
    convert: Callable[[Any, str], Any]


@dataclass(frozen=True)
class ItemShape:
    """`identifier`: (canonical name, item key, converter, reason when missing), placed first;
    `sections` follow in this order when not empty, then `tail` keys computed from emitted_at.
    Every field not placed goes to `custom_section` under its own name, nulls dropped, except
    those named in `ruled_custom_keys` (the vendor converts them): those layouts map generally."""

    identifier: tuple[str, str, Callable[[Any, str], Any], str]
    placements: Mapping[str, Placement]
    sections: tuple[str, ...]
    custom_section: str
    tail: tuple[tuple[str, Callable[[Any], Any]], ...]
    ruled_custom_keys: frozenset = frozenset()


class CompiledItems:
    """Per primary-key field and record layout: the compiled mapping, or None (map generally).
    A layout with nested objects is compiled per shape of those objects as records bring them."""

    def __init__(self, shape: ItemShape, general: Callable[..., dict]) -> None:
        self.shape = shape
        self._general = general
        self._top, self._nested_tables = tables_for(frozenset(shape.placements) | {shape.identifier[0]})
        # Custom fields that send a layout the general way: named like a key placed in the custom
        # section, or like one the vendor converts.
        self._general_custom_keys = shape.ruled_custom_keys | frozenset(
            place.key for place in shape.placements.values() if place.section == shape.custom_section
        )
        self._by_key_field: dict[str | None, dict[tuple, Any]] = {}
        self._nested_keys: dict[tuple, frozenset] = {}  # per layout: its fields that are nested objects
        self._compiled = 0

    def map_record(
        self, data: Mapping[str, Any], emitted_at: Any, user_id_field: str | None, mapped: Mapping | None = None
    ) -> dict:
        """The vendor's `map_record`: compiled where the layout allows, else `general`.
        (Bound as the vendor's own method: one call per record, not two.)"""
        if mapped is None:
            layouts = self._by_key_field.get(user_id_field)
            if layouts is None:
                layouts = self._by_key_field[user_id_field] = {}
            layout = tuple(data)
            mapper = layouts.get(layout, _UNSEEN)
            if mapper is _UNSEEN:
                mapper = self._learn(layouts, layout, data, user_id_field)
            if mapper is not None:
                item = mapper(data, emitted_at)
                if item is None:  # its nested objects are shaped unlike the ones compiled for
                    item = self._map_variant(layouts, layout, data, emitted_at, user_id_field)
                if item is not None:
                    return item
        return self._general(data, emitted_at, user_id_field, mapped)

    def _map_variant(
        self, layouts: dict, layout: tuple, data: Mapping[str, Any], emitted_at: Any, user_id_field: str | None
    ) -> dict | None:
        nested = self._nested_keys.get(layout)
        if nested is None:  # once per compiled layout (the caller has one), not per record
            nested = self._nested_keys[layout] = frozenset(nested_parents(self._nested_tables, layout))
        shapes = tuple(tuple(value) if value.__class__ is dict else None for key, value in data.items() if key in nested)
        variant = (layout, shapes)
        mapper = layouts.get(variant, _UNSEEN)
        if mapper is _UNSEEN:
            mapper = self._learn(layouts, variant, data, user_id_field)
        return None if mapper is None else mapper(data, emitted_at)

    def _learn(self, layouts: dict, key: tuple, exemplar: Mapping[str, Any], user_id_field: str | None) -> Any:
        if self._compiled >= MAX_COMPILED_ITEMS:
            return None
        self._compiled += 1
        mapper = _compile(self.shape, self._top, self._nested_tables, self._general_custom_keys, exemplar, user_id_field)
        layouts[key] = mapper
        return mapper


def _compile(
    shape: ItemShape,
    top: dict,
    nested_tables: dict,
    general_custom_keys: frozenset,
    exemplar: Mapping[str, Any],
    user_id_field: str | None,
) -> Any:
    layout = tuple(exemplar)
    if len(layout) > MAX_COMPILED_FIELDS:
        return None
    routes = plan_routes(top, nested_tables, layout, drop_internal=True)
    if routes is None:
        return None
    identifier = shape.identifier[0]
    id_source = routes.index(identifier) if identifier in routes else None
    key_source = user_id_source(layout, routes, user_id_field)
    if key_source is PER_RECORD:  # which field fills it depends on the record
        return None
    if key_source is not None:
        id_source, routes = key_source, routes[:key_source] + [identifier] + routes[key_source + 1 :]
    inner_layouts: dict[int, tuple] = {}
    inner_routes: dict[int, list] = {}
    for index, route in enumerate(routes):
        if route.__class__ is AliasTable:
            value = exemplar[layout[index]]
            inner = tuple(value) if value.__class__ is dict else ()
            planned = plan_routes(route, NO_TABLES, inner, drop_internal=False)
            if planned is None or len(inner) > MAX_COMPILED_FIELDS:
                return None
            inner_layouts[index], inner_routes[index] = inner, planned
    placed = [route for route in routes if route.__class__ is str and route != identifier]
    placed += [name for planned in inner_routes.values() for name in planned if name is not None]
    targets = [(shape.placements[name].section, shape.placements[name].key) for name in placed]
    custom = [key for key, route in zip(layout, routes) if route is None or route.__class__ is AliasTable]
    if len(set(targets)) < len(targets) or general_custom_keys.intersection(custom):
        return None  # two fields could land on one key, or a custom field needs the general path
    used = {shape.placements[name].section for name in placed} | ({shape.custom_section} if custom else set())
    return _generate(shape, layout, routes, id_source, inner_layouts, inner_routes, used)


def _generate(
    shape: ItemShape,
    layout: tuple,
    routes: list,
    id_source: int | None,
    inner_layouts: dict[int, tuple],
    inner_routes: dict[int, list],
    used_sections: set[str],
) -> Any:
    """The source of `map_layout(data, emitted_at) -> item or None`, compiled. Only the
    sections this layout can fill are built."""
    identifier, id_key, _, missing = shape.identifier
    namespace: dict[str, Any] = {
        "drop_nulls": drop_nulls,
        "PLAIN": PLAIN_SCALARS,
        "RecordRejected": RecordRejected,
    }
    sections = {name: f"section{number}" for number, name in enumerate(shape.sections) if name in used_sections}
    lines = ["def map_layout(data, emitted_at):"]
    if layout:
        lines.append(f"    {', '.join(f'v{index}' for index in range(len(layout)))}, = data.values()")

    def converted(
        variable: str,
        target: str,
        convert: Callable,
        name: str,
        indent: str = "    ",
        cleaned: bool = False,
        drop_blank: bool = False,
    ) -> None:
        """`target = convert(variable)` for a value that is not None, nulls inside dropped first
        (`cleaned`: the code before did both already; `drop_blank`: blank text is left out, as
        fields.erases says)."""
        namespace[f"convert_{name}"] = convert
        keyword = "if"
        cases = INLINE_CASES.get(convert, ())
        if drop_blank:  # text first: blank is left out, other text takes its inline case or the call
            text_result = next((result for condition, result in cases if condition.startswith(_TEXT_CASE)), None)
            lines.append(f"{indent}if {variable}.__class__ is str:")
            lines.append(f"{indent}    if {NOT_BLANK.format(v=variable)}:")
            call = f"convert_{name}({variable}, {name!r})"
            lines.append(f"{indent}        {target} = {call if text_result is None else text_result.format(v=variable)}")
            cases = tuple(case for case in cases if not case[0].startswith(_TEXT_CASE))
            keyword = "elif"
        for condition, result in cases:
            lines.append(f"{indent}{keyword} {condition.format(v=variable)}:")
            lines.append(f"{indent}    {target} = {result.format(v=variable)}")
            keyword = "elif"
        if cleaned:
            call = f"{target} = convert_{name}({variable}, {name!r})"
            lines.extend([f"{indent}{call}"] if keyword == "if" else [f"{indent}else:", f"{indent}    {call}"])
            return
        lines.extend([
            f"{indent}{keyword} {variable} is not None:",
            f"{indent}    if {variable}.__class__ is dict or {variable}.__class__ is list:",
            f"{indent}        {variable} = drop_nulls({variable})",
            f"{indent}    if {variable} is not None:",
            f"{indent}        {target} = convert_{name}({variable}, {name!r})",
        ])

    def place(variable: str, name: str, indent: str = "    ") -> None:
        placement = shape.placements[name]
        where = sections[placement.section] if placement.section else "item"
        converted(variable, f"{where}[{placement.key!r}]", placement.convert, name, indent, drop_blank=True)

    # Nested objects shaped unlike the ones compiled for: before any work, hand the record back.
    for index, inner in inner_layouts.items():
        namespace[f"layout{index}"] = inner
        lines += [f"    if v{index}.__class__ is dict and tuple(v{index}) != layout{index}:", "        return None"]
    # The identifier next: its absence or conversion error is reported before any other.
    if id_source is None:  # every record of this layout is rejected: nothing else to do
        lines.append(f"    raise RecordRejected({missing!r})")
        return _compiled_function(lines, namespace)
    lines += [
        f"    value = v{id_source}",
        "    if value.__class__ is dict or value.__class__ is list:",
        "        value = drop_nulls(value)",
        "    if value is None:",
        f"        raise RecordRejected({missing!r})",
    ]
    converted("value", "identity", shape.identifier[2], identifier, cleaned=True)
    lines.append(f"    item = {{{id_key!r}: identity}}")
    lines += [f"    {variable} = {{}}" for variable in sections.values()]

    # Placed fields in the order the general path places them: data order, nested objects at
    # their place; what is left of a nested object is kept for the custom fields below.
    for index, route in enumerate(routes):
        if route.__class__ is str and route != identifier:
            place(f"v{index}", route)
        elif route.__class__ is AliasTable:
            inner = inner_layouts[index]
            names = [f"n{index}_{position}" for position in range(len(inner))]
            lines += [f"    leftover{index} = None", f"    if v{index}.__class__ is dict:"]
            if inner:
                lines.append(f"        {', '.join(names)}, = v{index}.values()")
            for name, inner_route in zip(names, inner_routes[index]):
                if inner_route is not None:
                    place(name, inner_route, indent="        ")
            lines.append(f"        leftover{index} = {{}}")
            for key, name, inner_route in zip(inner, names, inner_routes[index]):
                if inner_route is None:
                    lines += keep_lines(name, f"leftover{index}[{key!r}]", indent="        ")
    custom = sections.get(shape.custom_section)
    for index, (key, route) in enumerate(zip(layout, routes)):
        if route is None:
            lines += keep_lines(f"v{index}", f"{custom}[{key!r}]")
        elif route.__class__ is AliasTable:
            lines += [
                f"    if leftover{index} is not None:",
                f"        if leftover{index}:",
                f"            {custom}[{key!r}] = leftover{index}",
                "    else:",
                *keep_lines(f"v{index}", f"{custom}[{key!r}]", indent="        "),
            ]
    for name, variable in sections.items():
        lines += [f"    if {variable}:", f"        item[{name!r}] = {variable}"]
    for number, (key, compute) in enumerate(shape.tail):
        namespace[f"tail{number}"] = compute
        lines.append(f"    item[{key!r}] = tail{number}(emitted_at)")
    lines.append("    return item")
    return _compiled_function(lines, namespace)


def _compiled_function(lines: list[str], namespace: dict[str, Any]) -> Any:
    exec(compile("\n".join(lines), "<compiled_items: one layout>", "exec"), namespace)  # noqa: S102 - literals only
    return namespace["map_layout"]
