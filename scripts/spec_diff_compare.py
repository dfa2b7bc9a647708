"""Compare two OpenAPI documents (3.0 or 3.1) and classify every difference by the rules of
scripts/spec_diff_rules.py. Used by scripts/spec_diff.py (`make spec-diff`, `make changelog`).

Both documents are dereferenced first (local `$ref`s replaced by copies of their targets), so a
change to a shared schema is reported, and classified, at every request and response that uses
it: tightening a request property is breaking, tightening a response property is not.

The walk is exhaustive and fails closed: at every node (document, path item, operation,
parameter, request body, media type, response, header, schema) each key that differs is either
claimed by a rule, or is an annotation (descriptions, examples, `x-` extensions: `docs`), or is
reported `unclassified` (level `review`), which fails the gate until someone acknowledges it.

Parameters are compared as OpenAPI applies them: an operation's effective parameters are its
path item's, overridden by its own (same name and location), so declaring a parameter at path
level and overriding it in an operation, or moving it between the two levels, is not a change.
"""

import copy
import json
import re
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from scripts.spec_diff_rules import (
    ANNOTATION,
    BOUNDS,
    READ_ONLY_PREFIX,
    SCHEMA_PREFIXES,
    UNCLASSIFIED,
    WRITE_ONLY_PREFIX,
    rule,
)

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DOC_KEYS = frozenset(
    {"description", "summary", "title", "example", "examples", "externalDocs", "xml", "$comment"}
)
# Extensions with a meaning for the gate; every other `x-` key is an annotation.
SEMANTIC_EXTENSIONS = frozenset({"x-sunset", "x-stability-level", "x-extensible-enum"})
STABILITY = ("draft", "alpha", "beta", "stable")
MISSING: Any = object()
K = TypeVar("K", bound=Hashable)


class CompareError(Exception):
    """The documents cannot be compared (an unresolvable `$ref`, an external one)."""


@dataclass(frozen=True)
class Change:
    rule: str
    operation: str  # "GET /tasks", "POST webhook:orderCreated", "document"
    where: str  # e.g. "request application/json /owner", "query limit", "response 200"
    text: str
    key: str = ""  # tells apart changes of one rule at one place (an enum value, a key)

    @property
    def level(self) -> str:
        return rule(self.rule).level

    @property
    def why(self) -> str:
        return rule(self.rule).why

    @property
    def id(self) -> str:
        """What a reviewer writes in the acknowledgement file to let this change through."""
        return " ".join(part for part in (self.rule, self.operation, self.where, self.key) if part)


@dataclass(frozen=True)
class Site:
    """Where a schema is used, which decides how its changes are classified."""

    direction: str  # request | response
    kind: str  # body | parameter | header
    operation: str
    where: str
    strongly_typed: bool  # JSON bodies; parameters and headers are text on the wire


# --- dereferencing -------------------------------------------------------------------------------


def dereference(document: dict[str, Any]) -> dict[str, Any]:
    """A copy with every local `$ref` replaced by a copy of its target, keeping the `$ref` key
    (it names a shared schema for matching `oneOf` alternatives; the comparison ignores it).
    A reference back into its own chain (a recursive schema) is left as it is."""

    def target(ref: str) -> Any:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise CompareError(f"unresolvable $ref {ref!r}")
        return node

    def walk(node: Any, chain: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, chain) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#"):
                raise CompareError(f"external $ref {ref!r}: bundle the document first")
            if ref not in chain:
                resolved = walk(copy.deepcopy(target(ref)), (*chain, ref))
                siblings = {key: walk(value, chain) for key, value in node.items()}
                return {**resolved, **siblings} if isinstance(resolved, dict) else resolved
        return {key: walk(value, chain) for key, value in node.items()}

    result: dict[str, Any] = walk(document, ())
    return result


# --- small helpers -------------------------------------------------------------------------------


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def listing(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def shown(value: Any) -> str:
    """A value in a report line: JSON, cut short."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return f"`{text if len(text) <= 60 else text[:57] + '...'}`"


def verb(before: Any, after: Any) -> str:
    if before is MISSING:
        return f"added: {shown(after)}"
    if after is MISSING:
        return "removed"
    return f"{shown(before)} → {shown(after)}"


def is_annotation(key: str) -> bool:
    return key in DOC_KEYS or (key.startswith("x-") and key not in SEMANTIC_EXTENSIONS)


def ordered_union(*keys: Iterable[K]) -> list[K]:
    """Keys of the first group (the head) first, in its order, then those only in the others."""
    seen: dict[K, None] = {}
    for group in keys:
        for key in group:
            seen.setdefault(key, None)
    return list(seen)


def sunset_date(value: Any) -> date | None:
    """An `x-sunset` as a date: RFC 3339 full-date or date-time (None when it is neither)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}(T.+)?", value.strip()):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def success_status(status: str) -> bool:
    return status.startswith("2")


def json_like(media_type: str) -> bool:
    base = media_type.split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def unresolved(schema: dict[str, Any]) -> bool:
    """A `$ref` left as it is (recursion): nothing else beside it."""
    return "$ref" in schema and not (set(schema) - {"$ref"} - DOC_KEYS)


def null_branch(schema: Any) -> bool:
    return (
        isinstance(schema, dict)
        and schema.get("type") == "null"
        and not (set(schema) - {"type"} - DOC_KEYS)
    )


def normal(schema: Any) -> dict[str, Any]:
    """A schema in one canonical form: nullability as a `nullable` flag whichever way it is said
    (`nullable: true`, a "null" in `type`, or a oneOf/anyOf of the schema and `{type: "null"}`),
    `type` as a sorted list without "null", a one-element `allOf` merged into its owner, and
    OpenAPI 3.0's boolean `exclusiveMaximum`/`exclusiveMinimum` as 3.1's numbers."""
    result = dict(mapping(schema))
    all_of = result.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        inner = normal(all_of[0])
        del result["allOf"]
        result = {**inner, **result, "nullable": inner["nullable"] or bool(result.get("nullable"))}
    for key in ("oneOf", "anyOf"):
        branches = result.get(key)
        if isinstance(branches, list) and len(branches) == 2 and any(map(null_branch, branches)):
            other = next(branch for branch in branches if not null_branch(branch))
            if not null_branch(other):
                del result[key]
                result = {**normal(other), **result, "nullable": True}
    raw = result.get("type")
    types = [raw] if isinstance(raw, str) else [t for t in listing(raw) if isinstance(t, str)]
    nullable = bool(result.get("nullable")) or "null" in types
    types = sorted({t for t in types if t != "null"})
    if types:
        result["type"] = types
    else:
        result.pop("type", None)
    result["nullable"] = nullable
    for exclusive, bound in (("exclusiveMaximum", "maximum"), ("exclusiveMinimum", "minimum")):
        if result.get(exclusive) is True and bound in result:
            result[exclusive] = result.pop(bound)
        elif result.get(exclusive) is False:
            del result[exclusive]
    return result


def covered(types: set[str], by: set[str]) -> bool:
    """Every type of `types` is one of `by`, or integer within number."""
    return bool(types) and all(t in by or (t == "integer" and "number" in by) for t in types)


FORMAT_WIDENINGS = {
    ("float", "double"),
    ("int32", "int64"),
    ("int32", "bigint"),
    ("int64", "bigint"),
    ("date", "date-time"),
    ("time", "date-time"),
}


def format_breaking(narrow: Any, wide: Any) -> bool:
    """Changing the format from `narrow` to `wide` loses values (wide=None: no format, anything
    goes)."""
    return wide is not None and (narrow, wide) not in FORMAT_WIDENINGS


def pairs(base: list[Any], head: list[Any]) -> tuple[list[tuple[Any, Any]], list[Any], list[Any]]:
    """Match the alternatives of two oneOf/anyOf/allOf lists: by `$ref`, by `title`, by equality,
    then the rest in order when as many are left on both sides. Returns (pairs, removed, added)."""
    left, right = list(base), list(head)
    matched: list[tuple[Any, Any]] = []

    def take(key: Any) -> None:
        for b in list(left):
            for h in list(right):
                if b in left and h in right and key(b) is not None and key(b) == key(h):
                    matched.append((b, h))
                    left.remove(b)
                    right.remove(h)

    take(lambda s: mapping(s).get("$ref"))
    take(lambda s: mapping(s).get("title"))
    take(lambda s: json.dumps(s, sort_keys=True, default=str))
    if len(left) == len(right):
        matched += list(zip(left, right, strict=True))
        left, right = [], []
    return matched, left, right


# --- the comparison ------------------------------------------------------------------------------


@dataclass
class Differ:
    base: dict[str, Any]
    head: dict[str, Any]
    today: date = field(default_factory=date.today)
    changes: list[Change] = field(default_factory=list)
    operation_ids: dict[str, str] = field(default_factory=dict)

    def add(self, rule_id: str, operation: str, where: str, text: str, key: str = "") -> None:
        self.changes.append(Change(rule_id, operation, where, text, key))

    def leftovers(
        self,
        operation: str,
        where: str,
        base: dict[str, Any],
        head: dict[str, Any],
        handled: Iterable[str],
    ) -> None:
        """Every key not `handled` that differs: an annotation, or unclassified."""
        claimed = {*handled, "$ref"}
        for key in ordered_union(head, base):
            if key in claimed:
                continue
            before, after = base.get(key, MISSING), head.get(key, MISSING)
            if before == after:
                continue
            kind = ANNOTATION if is_annotation(key) else UNCLASSIFIED
            self.add(kind, operation, where, f"`{key}` {verb(before, after)}", key)

    # --- document --------------------------------------------------------------------------------

    def compare(self) -> list[Change]:
        base, head = self.base, self.head
        doc = "document"
        before, after = str(base.get("openapi", "")), str(head.get("openapi", ""))
        if before != after:
            same_minor = before.split(".")[:2] == after.split(".")[:2]
            kind = ANNOTATION if same_minor else UNCLASSIFIED
            self.add(kind, doc, "openapi", f"OpenAPI version {shown(before)} → {shown(after)}")
        for key in ordered_union(mapping(head.get("info")), mapping(base.get("info"))):
            old, new = (
                mapping(base.get("info")).get(key, MISSING),
                mapping(head.get("info")).get(key, MISSING),
            )
            if old != new:
                self.add(ANNOTATION, doc, "info", f"`info.{key}` {verb(old, new)}", key)
        self.servers(doc, "servers", base.get("servers"), head.get("servers"))
        if base.get("tags") != head.get("tags"):
            self.add(ANNOTATION, doc, "tags", "tag definitions changed")
        self.security(
            doc, "api-global-security", listing(base.get("security")), listing(head.get("security"))
        )
        self.components(mapping(base.get("components")), mapping(head.get("components")))
        self.paths(mapping(base.get("paths")), mapping(head.get("paths")))
        self.webhooks(mapping(base.get("webhooks")), mapping(head.get("webhooks")))
        handled = {"openapi", "info", "servers", "tags", "security", "components", "paths"}
        self.leftovers(doc, "", base, head, {*handled, "webhooks"})
        return self.changes

    def servers(self, operation: str, where: str, base: Any, head: Any) -> None:
        if base == head:
            return

        def urls(servers: Any) -> list[Any]:
            return [
                {key: value for key, value in mapping(s).items() if not is_annotation(key)}
                for s in listing(servers)
            ]

        if urls(base) == urls(head):
            self.add(ANNOTATION, operation, where, "server descriptions changed")
        else:
            self.add("api-servers-changed", operation, where, "the server list changed")

    def components(self, base: dict[str, Any], head: dict[str, Any]) -> None:
        """Only what operations name rather than reference: security schemes. Schema changes
        are reported where the schemas are used; a removed schema is noted."""
        for name in mapping(base.get("schemas")):
            if name not in mapping(head.get("schemas")):
                self.add("api-schema-removed", "document", f"components schemas {name}", "removed")
        old, new = mapping(base.get("securitySchemes")), mapping(head.get("securitySchemes"))
        for name in ordered_union(new, old):
            where = f"security scheme {name}"
            if name not in new:
                self.add("api-security-component-removed", "document", where, "removed")
            elif name not in old:
                self.add("api-security-component-added", "document", where, "added")
            else:
                self.security_scheme(where, mapping(old[name]), mapping(new[name]))

    def security_scheme(self, where: str, base: dict[str, Any], head: dict[str, Any]) -> None:
        doc = "document"
        if base.get("type") != head.get("type"):
            text = f"type {verb(base.get('type'), head.get('type'))}"
            self.add("api-security-component-type-changed", doc, where, text)
        old_flows, new_flows = mapping(base.get("flows")), mapping(head.get("flows"))
        for flow in ordered_union(new_flows, old_flows):
            old, new = mapping(old_flows.get(flow)), mapping(new_flows.get(flow))
            at = f"{where} {flow}"
            for key, rule_id in (
                ("authorizationUrl", "api-security-component-oauth-url-changed"),
                ("tokenUrl", "api-security-component-oauth-token-url-changed"),
            ):
                if old.get(key) != new.get(key):
                    self.add(rule_id, doc, at, f"`{key}` {verb(old.get(key), new.get(key))}")
            old_scopes, new_scopes = mapping(old.get("scopes")), mapping(new.get("scopes"))
            for scope in ordered_union(new_scopes, old_scopes):
                if scope not in new_scopes:
                    self.add("api-security-component-oauth-scope-removed", doc, at, "", scope)
                elif scope not in old_scopes:
                    self.add("api-security-component-oauth-scope-added", doc, at, "", scope)
                elif old_scopes[scope] != new_scopes[scope]:
                    self.add("api-security-component-oauth-scope-changed", doc, at, "", scope)
            self.leftovers(doc, at, old, new, {"authorizationUrl", "tokenUrl", "scopes"})
        self.leftovers(doc, where, base, head, {"type", "flows"})

    def security(
        self, operation: str, prefix: str, base: list[Any], head: list[Any], where: str = "security"
    ) -> None:
        def key(requirement: Any) -> str:
            return " + ".join(sorted(mapping(requirement))) or "(none)"

        old = {key(r): mapping(r) for r in base}
        new = {key(r): mapping(r) for r in head}
        for name in ordered_union(new, old):
            if name not in new:
                self.add(
                    f"{prefix}-removed", operation, where, f"requirement `{name}` removed", name
                )
            elif name not in old:
                self.add(f"{prefix}-added", operation, where, f"requirement `{name}` added", name)
            else:
                for scheme in new[name]:
                    before, after = set(listing(old[name][scheme])), set(listing(new[name][scheme]))
                    for scope in sorted(after - before):
                        text = f"scope `{scope}` added to `{scheme}`"
                        self.add(f"{prefix}-scope-added", operation, where, text, scope)
                    for scope in sorted(before - after):
                        text = f"scope `{scope}` removed from `{scheme}`"
                        self.add(f"{prefix}-scope-removed", operation, where, text, scope)

    # --- paths, webhooks, callbacks --------------------------------------------------------------

    def paths(self, base: dict[str, Any], head: dict[str, Any]) -> None:
        def template(path: str) -> str:
            return re.sub(r"\{[^}]*\}", "{}", path)

        old = {template(path): path for path in base if not path.startswith("x-")}
        new = {template(path): path for path in head if not path.startswith("x-")}
        for shape in ordered_union(new, old):
            if shape not in new:
                item = mapping(base[old[shape]])
                for method, operation in self.operations(item):
                    self.removed(f"{method.upper()} {old[shape]}", operation, is_path=True)
            elif shape not in old:
                for method, added in self.operations(mapping(head[new[shape]])):
                    self.named(f"{method.upper()} {new[shape]}", added)
                    self.add("endpoint-added", f"{method.upper()} {new[shape]}", "", "added")
            else:
                self.path_item(
                    lambda method, path=new[shape]: f"{method.upper()} {path}",
                    mapping(base[old[shape]]),
                    mapping(head[new[shape]]),
                    (old[shape], new[shape]),
                )
        self.leftovers("document", "paths", base, head, {*old.values(), *new.values()})

    def webhooks(self, base: dict[str, Any], head: dict[str, Any]) -> None:
        for name in ordered_union(head, base):
            if name not in head:
                self.add("webhook-removed", f"webhook:{name}", "", "removed")
            elif name not in base:
                self.add("webhook-added", f"webhook:{name}", "", "added")
            else:
                self.path_item(
                    lambda method, name=name: f"{method.upper()} webhook:{name}",
                    mapping(base[name]),
                    mapping(head[name]),
                )

    @staticmethod
    def operations(item: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        for method in HTTP_METHODS:
            if isinstance(item.get(method), dict):
                yield method, item[method]

    def path_item(
        self,
        label: Any,
        base: dict[str, Any],
        head: dict[str, Any],
        templates: tuple[str, str] = ("", ""),
    ) -> None:
        old, new = dict(self.operations(base)), dict(self.operations(head))
        for method in HTTP_METHODS:
            operation = label(method)
            if method in old and method not in new:
                self.removed(operation, old[method], is_path=False)
            elif method in new and method not in old:
                self.named(operation, new[method])
                self.add("endpoint-added", operation, "", "added")
            elif method in new:
                self.operation(operation, (base, head), old[method], new[method], templates)
        where = label("*").removeprefix("* ")
        self.servers(where, "servers", base.get("servers"), head.get("servers"))
        self.leftovers(where, "path item", base, head, {*HTTP_METHODS, "parameters", "servers"})

    def named(self, operation: str, *items: dict[str, Any]) -> None:
        """Remember an operation's operationId (the head's, else the base's) for the report."""
        for item in items:
            operation_id = item.get("operationId")
            if isinstance(operation_id, str) and operation not in self.operation_ids:
                self.operation_ids[operation] = operation_id

    def removed(self, operation: str, item: dict[str, Any], *, is_path: bool) -> None:
        self.named(operation, item)
        kind = "api-path" if is_path else "api"
        if not item.get("deprecated"):
            self.add(f"{kind}-removed-without-deprecation", operation, "", "removed")
            return
        sunset = item.get("x-sunset")
        if sunset is None:
            self.add(f"{kind}-removed-with-deprecation", operation, "", "removed (was deprecated)")
            return
        when = sunset_date(sunset)
        if when is None:
            self.add("api-path-sunset-parse", operation, "", f"x-sunset {shown(sunset)} is no date")
        elif self.today < when:
            self.add(f"{kind}-removed-before-sunset", operation, "", f"removed before {when}")
        else:
            text = f"removed after its sunset ({when})"
            self.add(f"{kind}-removed-with-deprecation", operation, "", text)

    # --- operations ------------------------------------------------------------------------------

    def operation(
        self,
        operation: str,
        items: tuple[dict[str, Any], dict[str, Any]],
        base: dict[str, Any],
        head: dict[str, Any],
        templates: tuple[str, str],
    ) -> None:
        self.named(operation, head, base)
        self.deprecation(operation, base, head)
        self.stability(operation, base, head)
        if base.get("operationId") != head.get("operationId"):
            rule_id = "api-operation-id-added" if not base.get("operationId") else None
            old_id, new_id = base.get("operationId", MISSING), head.get("operationId", MISSING)
            text = f"operationId {verb(old_id, new_id)}"
            self.add(rule_id or "api-operation-id-removed", operation, "operationId", text)
        old_tags, new_tags = listing(base.get("tags")), listing(head.get("tags"))
        for tag in ordered_union(map(str, new_tags), map(str, old_tags)):
            if tag not in map(str, new_tags):
                self.add("api-tag-removed", operation, "tags", f"tag `{tag}` removed", tag)
            elif tag not in map(str, old_tags):
                self.add("api-tag-added", operation, "tags", f"tag `{tag}` added", tag)
        if base.get("security") != head.get("security"):
            old, new = listing(base.get("security")), listing(head.get("security"))
            self.security(operation, "api-security", old, new)
        self.servers(operation, "servers", base.get("servers"), head.get("servers"))
        old_params = self.effective(items[0], base, templates[0])
        new_params = self.effective(items[1], head, templates[1])
        self.parameters(operation, old_params, new_params)
        self.request_body(operation, base.get("requestBody"), head.get("requestBody"))
        self.responses(operation, mapping(base.get("responses")), mapping(head.get("responses")))
        self.callbacks(operation, mapping(base.get("callbacks")), mapping(head.get("callbacks")))
        handled = {
            "operationId", "tags", "security", "servers", "deprecated", "x-sunset",
            "x-stability-level", "parameters", "requestBody", "responses", "callbacks",
        }  # fmt: skip
        self.leftovers(operation, "", base, head, handled)

    def deprecation(self, operation: str, base: dict[str, Any], head: dict[str, Any]) -> None:
        was, now = bool(base.get("deprecated")), bool(head.get("deprecated"))
        old, new = base.get("x-sunset"), head.get("x-sunset")
        if was and not now:
            self.add("endpoint-reactivated", operation, "", "no longer deprecated")
        elif now and not was:
            when = sunset_date(new)
            if new is None:
                self.add("endpoint-deprecated", operation, "", "deprecated")
            elif when is None:
                text = f"deprecated; x-sunset {shown(new)} is no date"
                self.add("api-deprecated-sunset-parse", operation, "", text)
            elif when < self.today:
                text = f"deprecated with a sunset already past ({when})"
                self.add("api-sunset-date-too-small", operation, "", text)
            else:
                self.add(
                    "endpoint-deprecated-with-sunset", operation, "", f"deprecated, sunset {when}"
                )
        elif now and old != new:
            before, after = sunset_date(old), sunset_date(new)
            if new is None:
                self.add("sunset-deleted", operation, "x-sunset", f"x-sunset {shown(old)} removed")
            elif after is None:
                self.add(
                    "api-path-sunset-parse",
                    operation,
                    "x-sunset",
                    f"x-sunset {shown(new)} is no date",
                )
            elif before is not None and after < before and after < self.today:
                text = f"x-sunset moved earlier, to a past date ({before} → {after})"
                self.add("api-sunset-date-changed-too-small", operation, "x-sunset", text)
            else:
                self.add(
                    "api-sunset-date-changed", operation, "x-sunset", f"x-sunset {verb(old, new)}"
                )
        elif old != new:
            self.add(
                ANNOTATION, operation, "x-sunset", f"x-sunset {verb(old, new)} (not deprecated)"
            )

    def stability(self, operation: str, base: dict[str, Any], head: dict[str, Any]) -> None:
        old, new = base.get("x-stability-level"), head.get("x-stability-level")
        if old == new:
            return
        text = f"x-stability-level {verb(old, new)}"
        if old in STABILITY and new in STABILITY:
            down = STABILITY.index(new) < STABILITY.index(old)
            self.add(f"api-stability-{'decreased' if down else 'increased'}", operation, "", text)
        else:
            self.add(UNCLASSIFIED, operation, "x-stability-level", text)

    def callbacks(self, operation: str, base: dict[str, Any], head: dict[str, Any]) -> None:
        for name in ordered_union(head, base):
            old, new = mapping(base.get(name)), mapping(head.get(name))
            for expression in ordered_union(new, old):
                where = f"callback {name} {expression}"
                if expression.startswith("x-"):
                    if old.get(expression) != new.get(expression):
                        self.add(ANNOTATION, operation, where, "extension changed")
                elif expression not in new:
                    self.add("callback-removed", operation, where, "removed")
                elif expression not in old:
                    self.add("callback-added", operation, where, "added")
                else:
                    self.path_item(
                        lambda method, where=where: f"{method.upper()} {operation} {where}",
                        mapping(old[expression]),
                        mapping(new[expression]),
                    )

    # --- parameters ------------------------------------------------------------------------------

    @staticmethod
    def effective(
        item: dict[str, Any], operation: dict[str, Any], template: str
    ) -> dict[tuple[str, str], Any]:
        """(location, name) -> (parameter, declared at "path" item or "operation" level). Header
        names are case-insensitive; a path parameter is known by its place in the template, so
        renaming `{id}` to `{item_id}` is no new parameter."""
        places = re.findall(r"\{([^}]*)\}", template)
        result: dict[tuple[str, str], Any] = {}
        levels = (("path", item.get("parameters")), ("operation", operation.get("parameters")))
        for level, parameters in levels:
            for parameter in listing(parameters):
                parameter = mapping(parameter)
                location, name = str(parameter.get("in")), str(parameter.get("name"))
                if location == "header":
                    name = name.lower()
                elif location == "path" and name in places:
                    name = f"{{{places.index(name)}}}"
                result[(location, name)] = (parameter, level)
        return result

    def parameters(
        self, operation: str, old: dict[tuple[str, str], Any], new: dict[tuple[str, str], Any]
    ) -> None:
        for key in ordered_union(new, old):
            location, _ = key
            if key not in old:
                parameter, level = new[key]
                name = parameter.get("name")
                where = f"{location} {name}"
                if location == "path":
                    self.add("new-request-path-parameter", operation, where, "added")
                    continue
                required = "required" if parameter.get("required") else "optional"
                rule_id = (
                    f"new-{required}-request-default-parameter-to-existing-path"
                    if level == "path"
                    else f"new-{required}-request-parameter"
                )
                text = f"added as {required}" + (" (at path level)" if level == "path" else "")
                self.add(rule_id, operation, where, text)
            elif key not in new:
                parameter, _ = old[key]
                where = f"{location} {parameter.get('name')}"
                deprecated = bool(parameter.get("deprecated"))
                rule_id = f"request-parameter-removed{'-with-deprecation' if deprecated else ''}"
                self.add(rule_id, operation, where, "removed")
            else:
                self.parameter(operation, mapping(old[key][0]), mapping(new[key][0]))

    def parameter(self, operation: str, base: dict[str, Any], head: dict[str, Any]) -> None:
        location = str(head.get("in"))
        where = f"{location} {head.get('name')}"
        if base.get("name") != head.get("name"):
            text = f"renamed {verb(base.get('name'), head.get('name'))}"
            self.add(ANNOTATION, operation, where, text, "name")
        was = bool(base.get("required")) or location == "path"
        now = bool(head.get("required")) or location == "path"
        if was != now:
            rule_id = (
                "request-parameter-became-required" if now else "request-parameter-became-optional"
            )
            self.add(rule_id, operation, where, "now required" if now else "now optional")
        if bool(base.get("deprecated")) != bool(head.get("deprecated")):
            deprecated = bool(head.get("deprecated"))
            rule_id = (
                "request-parameter-deprecated" if deprecated else "request-parameter-reactivated"
            )
            self.add(
                rule_id, operation, where, "deprecated" if deprecated else "no longer deprecated"
            )
        if "schema" in base or "schema" in head:
            site = Site("request", "parameter", operation, where, strongly_typed=False)
            self.schema(site, (), mapping(base.get("schema")), mapping(head.get("schema")))
        self.leftovers(
            operation, where, base, head, {"name", "in", "required", "deprecated", "schema"}
        )

    # --- request bodies, responses, media types, headers -----------------------------------------

    def request_body(self, operation: str, base: Any, head: Any) -> None:
        if base is None and head is None:
            return
        where = "request"
        if base is None:
            required = "required" if mapping(head).get("required") else "optional"
            self.add(f"request-body-added-{required}", operation, where, f"{required} body added")
            return
        if head is None:
            self.add("request-body-removed", operation, where, "body removed")
            return
        base, head = mapping(base), mapping(head)
        was, now = bool(base.get("required")), bool(head.get("required"))
        if was != now:
            rule_id = "request-body-became-required" if now else "request-body-became-optional"
            self.add(rule_id, operation, where, "body now required" if now else "body now optional")
        self.content(operation, "request", where, base, head)
        self.leftovers(operation, where, base, head, {"required", "content"})

    def content(
        self, operation: str, direction: str, where: str, base: dict[str, Any], head: dict[str, Any]
    ) -> None:
        """The media types of a request body or a response (`where`: "request", "response 200")."""
        old, new = mapping(base.get("content")), mapping(head.get("content"))
        rule = "request-body-media-type" if direction == "request" else "response-media-type"
        for media_type in ordered_union(new, old):
            at = f"{where} {media_type}"
            if media_type not in new:
                self.add(f"{rule}-removed", operation, at, "media type removed")
            elif media_type not in old:
                self.add(f"{rule}-added", operation, at, "media type added")
            else:
                site = Site(direction, "body", operation, at, json_like(media_type))
                self.media(site, mapping(old[media_type]), mapping(new[media_type]))

    def media(self, site: Site, base: dict[str, Any], head: dict[str, Any]) -> None:
        if "schema" in base or "schema" in head:
            self.schema(site, (), mapping(base.get("schema")), mapping(head.get("schema")))
        self.leftovers(site.operation, site.where, base, head, {"schema"})

    def responses(self, operation: str, base: dict[str, Any], head: dict[str, Any]) -> None:
        base = {str(k): v for k, v in base.items()}
        head = {str(k): v for k, v in head.items()}
        for status in ordered_union(head, base):
            where = f"response {status}"
            if status.startswith("x-"):
                if base.get(status) != head.get(status):
                    self.add(ANNOTATION, operation, where, "extension changed")
                continue
            kind = (
                "default"
                if status == "default"
                else "success"
                if success_status(status)
                else "non-success"
            )
            if status not in head:
                rule_id = (
                    "response-default-removed"
                    if kind == "default"
                    else f"response-{kind}-status-removed"
                )
                self.add(rule_id, operation, where, "status removed")
            elif status not in base:
                rule_id = (
                    "response-default-added"
                    if kind == "default"
                    else f"response-{kind}-status-added"
                )
                self.add(rule_id, operation, where, "status added")
            else:
                self.response(operation, where, mapping(base[status]), mapping(head[status]))

    def response(
        self, operation: str, where: str, base: dict[str, Any], head: dict[str, Any]
    ) -> None:
        # Header names are case-insensitive: matched in lower case, shown as the head spells them.
        spelled = {str(k).lower(): str(k) for k in mapping(base.get("headers"))}
        spelled |= {str(k).lower(): str(k) for k in mapping(head.get("headers"))}
        old = {str(k).lower(): mapping(v) for k, v in mapping(base.get("headers")).items()}
        new = {str(k).lower(): mapping(v) for k, v in mapping(head.get("headers")).items()}
        for name in ordered_union(new, old):
            at = f"{where} header {spelled[name]}"
            if name not in new:
                required = "required" if old[name].get("required") else "optional"
                self.add(
                    f"{required}-response-header-removed",
                    operation,
                    at,
                    f"{required} header removed",
                )
            elif name not in old:
                self.add("response-header-added", operation, at, "header added")
            else:
                self.header(operation, at, old[name], new[name])
        self.content(operation, "response", where, base, head)
        if base.get("links") != head.get("links"):
            self.add("response-links-changed", operation, where, "links changed")
        self.leftovers(operation, where, base, head, {"headers", "content", "links"})

    def header(
        self, operation: str, where: str, base: dict[str, Any], head: dict[str, Any]
    ) -> None:
        was, now = bool(base.get("required")), bool(head.get("required"))
        if was != now:
            rule_id = (
                "response-header-became-required" if now else "response-header-became-optional"
            )
            self.add(rule_id, operation, where, "now required" if now else "now optional")
        if bool(base.get("deprecated")) != bool(head.get("deprecated")):
            deprecated = bool(head.get("deprecated"))
            rule_id = "response-header-deprecated" if deprecated else "response-header-reactivated"
            self.add(
                rule_id, operation, where, "deprecated" if deprecated else "no longer deprecated"
            )
        if "schema" in base or "schema" in head:
            site = Site("response", "header", operation, where, strongly_typed=False)
            self.schema(site, (), mapping(base.get("schema")), mapping(head.get("schema")))
        self.leftovers(operation, where, base, head, {"required", "deprecated", "schema"})

    # --- schemas ---------------------------------------------------------------------------------

    @staticmethod
    def prefix(site: Site, path: tuple[str, ...], schema: dict[str, Any]) -> str:
        """The rule-id prefix for a schema at `path` (empty: the body, parameter or header)."""
        body, nested, *_ = (
            (SCHEMA_PREFIXES[site.direction][2], SCHEMA_PREFIXES[site.direction][3])
            if site.kind in ("parameter", "header")
            else SCHEMA_PREFIXES[site.direction][:2]
        )
        if path and site.direction == "request" and schema.get("readOnly"):
            return READ_ONLY_PREFIX
        if path and site.direction == "response" and schema.get("writeOnly"):
            return WRITE_ONLY_PREFIX
        return nested if path else body

    def schema(
        self,
        site: Site,
        path: tuple[str, ...],
        base: dict[str, Any],
        head: dict[str, Any],
        *,
        in_properties: bool = False,
    ) -> None:
        """Compare two schemas at `path` below the site (a tuple of property names, `items`,
        `oneOf[0]`, ...). `in_properties`: the caller reports readOnly/writeOnly flips."""
        where = site.where + (" /" + "/".join(path) if path else "")
        if unresolved(base) or unresolved(head):
            if base.get("$ref") != head.get("$ref") or unresolved(base) != unresolved(head):
                text = f"recursive schema reference {verb(base.get('$ref'), head.get('$ref'))}"
                self.add(UNCLASSIFIED, site.operation, where, text, "$ref")
            return
        old, new = normal(base), normal(head)
        prefix = self.prefix(
            site, path, new if new.get("readOnly") or new.get("writeOnly") else old
        )

        def add(suffix: str, text: str, key: str = "", *, rule_id: str = "") -> None:
            self.add(rule_id or f"{prefix}-{suffix}", site.operation, where, text, key)

        if old["nullable"] != new["nullable"]:
            add(
                "became-nullable" if new["nullable"] else "became-not-nullable",
                "nullable" if new["nullable"] else "not nullable",
            )
        self.types(site, old, new, add)
        self.values(prefix, old, new, add)
        for keyword, (name, _) in BOUNDS.items():
            before, after = old.get(keyword), new.get(keyword)
            if before == after:
                continue
            if not all(isinstance(v, int | float) for v in (before, after) if v is not None):
                self.add(
                    UNCLASSIFIED,
                    site.operation,
                    where,
                    f"`{keyword}` {verb(before, after)}",
                    keyword,
                )
                continue
            change = (
                "set" if before is None
                else "unset" if after is None
                else "increased" if after > before
                else "decreased"
            )  # fmt: skip
            old_value = MISSING if before is None else before
            new_value = MISSING if after is None else after
            add(f"{name}-{change}", f"`{keyword}` {verb(old_value, new_value)}", keyword)
        self.objects(site, path, old, new, add)
        arrays = "array" in old.get("type", []) and "array" in new.get("type", [])
        if ("items" in old and "items" in new) or (arrays and ("items" in old or "items" in new)):
            self.schema(
                site, (*path, "items"), mapping(old.get("items")), mapping(new.get("items"))
            )
        self.compositions(site, path, old, new, add)
        handled = {
            "nullable", "type", "format", "enum", "x-extensible-enum", "const", "default",
            "pattern", *BOUNDS, "properties", "required", "additionalProperties", "items",
            "oneOf", "anyOf", "allOf", "discriminator", "deprecated",
        }  # fmt: skip
        if bool(old.get("deprecated")) != bool(new.get("deprecated")):
            add(
                "deprecated" if new.get("deprecated") else "reactivated",
                "deprecated" if new.get("deprecated") else "no longer deprecated",
            )
        if in_properties:
            handled |= {"readOnly", "writeOnly"}
        self.leftovers(site.operation, where, old, new, handled)

    def types(self, site: Site, old: dict[str, Any], new: dict[str, Any], add: Any) -> None:
        before, after = set(old.get("type", [])), set(new.get("type", []))
        old_format, new_format = old.get("format"), new.get("format")
        if before == after and old_format == new_format:
            return
        described = f"{'/'.join(sorted(before)) or 'any'}{f' ({old_format})' if old_format else ''}"
        described += (
            f" → {'/'.join(sorted(after)) or 'any'}{f' ({new_format})' if new_format else ''}"
        )
        text = f"type {described}"
        if before != after and (len(before) > 1 or len(after) > 1) and before and after:
            if covered(before, after):
                add("list-of-types-widened", text)
            elif covered(after, before):
                add("list-of-types-narrowed", text)
            else:
                add("type-changed", text)
            return
        type_changed = before != after
        concrete = bool(before) and bool(after)
        if site.direction == "request":
            breaking = (
                type_changed
                and bool(after)
                and not (
                    covered(before, after) or (not site.strongly_typed and after == {"string"})
                )
            )
            breaking = breaking or (
                old_format != new_format and format_breaking(old_format, new_format)
            )
            if breaking:
                add("type-changed", text)
            elif type_changed and concrete and not covered(before, after):
                add("type-compatible" if site.kind == "body" else "type-generalized", text)
            else:
                add("type-generalized", text)
            return
        breaking = (
            type_changed
            and bool(before)
            and not (covered(after, before) or (not site.strongly_typed and before == {"string"}))
        )
        breaking = breaking or (
            old_format != new_format and format_breaking(new_format, old_format)
        )
        if breaking:
            add(
                "type-generalized" if type_changed and covered(before, after) else "type-changed",
                text,
            )
        elif type_changed and concrete and not covered(after, before):
            add("type-compatible", text)
        else:
            add("type-specialized", text)

    def values(self, prefix: str, old: dict[str, Any], new: dict[str, Any], add: Any) -> None:
        for keyword, label in (("enum", "enum"), ("x-extensible-enum", "x-extensible-enum")):
            before, after = old.get(keyword), new.get(keyword)
            if before == after:
                continue
            if keyword == "enum" and before is None:
                add("became-enum", f"now an enum: {shown(after)}")
                continue
            if keyword == "enum" and after is None:
                add("enum-removed", f"no longer an enum (was {shown(before)})")
                continue
            before, after = listing(before), listing(after)
            removed = f"{prefix}-{label}-value-removed"
            if prefix == "response-body" and keyword == "enum":
                removed = "response-mediatype-enum-value-removed"
            for value in before:
                if value not in after:
                    text = f"{label} value {shown(value)} removed"
                    add("", text, json.dumps(value, default=str), rule_id=removed)
            for value in after:
                if value not in before:
                    text = f"{label} value {shown(value)} added"
                    add(f"{label}-value-added", text, json.dumps(value, default=str))
            if sorted(map(str, before)) == sorted(map(str, after)):
                add("", f"{label} values reordered", rule_id=ANNOTATION)
        for keyword, name in (
            ("const", "const"),
            ("default", "default-value"),
            ("pattern", "pattern"),
        ):
            before, after = old.get(keyword, MISSING), new.get(keyword, MISSING)
            if before == after:
                continue
            text = f"`{keyword}` {verb(before, after)}"
            if before is MISSING:
                add(f"{name}-added", text)
            elif after is MISSING:
                add(f"{name}-removed", text)
            elif keyword == "pattern" and after == ".*":
                add("pattern-generalized", text)
            else:
                add(f"{name}-changed", text)

    def objects(
        self, site: Site, path: tuple[str, ...], old: dict[str, Any], new: dict[str, Any], add: Any
    ) -> None:
        old_props, new_props = mapping(old.get("properties")), mapping(new.get("properties"))
        old_required = {str(n) for n in listing(old.get("required"))}
        new_required = {str(n) for n in listing(new.get("required"))}
        request = site.direction == "request"
        for name in ordered_union(new_props, old_props):
            sub = (*path, name)
            where = site.where + " /" + "/".join(sub)
            if name not in new_props:
                schema = normal(old_props[name])
                required = "required" if name in old_required else "optional"
                if request:
                    rule_id = (
                        "request-read-only-property-removed"
                        if schema.get("readOnly")
                        else "request-property-removed"
                    )
                else:
                    write_only = "write-only-" if schema.get("writeOnly") else ""
                    rule_id = f"response-{required}-{write_only}property-removed"
                self.add(rule_id, site.operation, where, f"{required} property removed")
            elif name not in old_props:
                schema = normal(new_props[name])
                required = "required" if name in new_required else "optional"
                if request and schema.get("readOnly"):
                    rule_id = "request-read-only-property-added"
                elif request and required == "required":
                    with_default = "-with-default" if "default" in schema else ""
                    rule_id = f"new-required-request-property{with_default}"
                elif request:
                    rule_id = "new-optional-request-property"
                else:
                    write_only = "write-only-" if schema.get("writeOnly") else ""
                    rule_id = f"response-{required}-{write_only}property-added"
                text = f"{required} property added" + (
                    " (with a default)" if "-with-default" in rule_id else ""
                )
                self.add(rule_id, site.operation, where, text)
            else:
                before, after = normal(old_props[name]), normal(new_props[name])
                now = name in new_required
                if (name in old_required) != now:
                    text = "now required" if now else "now optional"
                    if request and (after.get("readOnly") or before.get("readOnly")):
                        rule_id = (
                            f"request-read-only-property-became-{'required' if now else 'optional'}"
                        )
                    elif request and now:
                        rule_id = "request-property-became-required" + (
                            "-with-default" if "default" in after else ""
                        )
                    elif request:
                        rule_id = "request-property-became-optional"
                    else:
                        write_only = (
                            "write-only-"
                            if after.get("writeOnly") or before.get("writeOnly")
                            else ""
                        )
                        became = "required" if now else "optional"
                        rule_id = f"response-{write_only}property-became-{became}"
                    self.add(rule_id, site.operation, where, text)
                for flag, label in (("readOnly", "read-only"), ("writeOnly", "write-only")):
                    if bool(before.get(flag)) != bool(after.get(flag)):
                        became = "became" if after.get(flag) else "became-not"
                        required = "required" if now else "optional"
                        rule_id = f"{site.direction}-{required}-property-{became}-{label}"
                        self.add(
                            rule_id,
                            site.operation,
                            where,
                            f"{'now' if after.get(flag) else 'no longer'} {flag}",
                        )
                self.schema(
                    site,
                    sub,
                    mapping(old_props[name]),
                    mapping(new_props[name]),
                    in_properties=True,
                )
        stray_old = old_required - set(old_props)
        stray_new = new_required - set(new_props)
        if stray_old != stray_new:
            where = site.where + (" /" + "/".join(path) if path else "")
            strays = verb(sorted(stray_old), sorted(stray_new))
            text = f"`required` names without a property changed: {strays}"
            self.add(UNCLASSIFIED, site.operation, where, text, "required")
        before, after = (
            old.get("additionalProperties", MISSING),
            new.get("additionalProperties", MISSING),
        )
        if before != after:
            if after is False:
                add(
                    "additional-properties-closed",
                    "`additionalProperties: false`: unknown properties refused",
                )
            elif before is False:
                add("additional-properties-opened", "unknown properties allowed")
            if isinstance(before, dict) or isinstance(after, dict):
                self.schema(site, (*path, "additionalProperties"), mapping(before), mapping(after))

    def compositions(
        self, site: Site, path: tuple[str, ...], old: dict[str, Any], new: dict[str, Any], add: Any
    ) -> None:
        for keyword, name in (("oneOf", "one-of"), ("anyOf", "any-of"), ("allOf", "all-of")):
            before, after = listing(old.get(keyword)), listing(new.get(keyword))
            if before == after:
                continue
            matched, removed, added = pairs(before, after)
            for schema in removed:
                add(f"{name}-removed", f"`{keyword}` alternative removed", self.label(schema))
            for schema in added:
                add(f"{name}-added", f"`{keyword}` alternative added", self.label(schema))
            for index, (b, h) in enumerate(matched):
                self.schema(
                    site, (*path, f"{keyword}[{self.label(h) or index}]"), mapping(b), mapping(h)
                )
        before, after = old.get("discriminator", MISSING), new.get("discriminator", MISSING)
        if before != after:
            if before is MISSING:
                add("discriminator-added", "discriminator added")
            elif after is MISSING:
                add("discriminator-removed", "discriminator removed")
            else:
                old_d, new_d = mapping(before), mapping(after)
                if old_d.get("propertyName") != new_d.get("propertyName"):
                    names = verb(old_d.get("propertyName"), new_d.get("propertyName"))
                    add("discriminator-property-name-changed", f"propertyName {names}")
                if old_d.get("mapping") != new_d.get("mapping"):
                    add("discriminator-mapping-changed", "mapping changed")

    @staticmethod
    def label(schema: Any) -> str:
        schema = mapping(schema)
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return ref.rsplit("/", 1)[-1]
        return str(schema.get("title") or "")


def compare(base: dict[str, Any], head: dict[str, Any], today: date | None = None) -> Differ:
    """Classify every change from `base` to `head` (both as loaded, not yet dereferenced)."""
    differ = Differ(dereference(base), dereference(head), today=today or date.today())
    differ.compare()
    return differ
