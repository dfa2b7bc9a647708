"""The rules of the breaking-change gate (scripts/spec_diff.py): every rule id, its level and the
one line a reviewer reads on why it matters to clients.

Levels follow oasdiff's (https://github.com/oasdiff/oasdiff, checker/rules.go) wherever oasdiff
has the rule, under oasdiff's rule ids: ERR is `breaking`, WARN is `warning` (may break clients),
INFO is `info`. Rules oasdiff lacks are ours, named in the same style. Two more levels are ours:
`docs` (annotations only: descriptions, examples, `x-` extensions) and `review` (a change no rule
classifies: it fails the gate until a reviewer acknowledges it).

Schema rules are written once per direction and suffix (`became-nullable`, `max-length-set`, ...)
and named after where the schema is: `request-body-`, `request-property-`, `request-parameter-`,
`request-parameter-property-`, `response-body-`, `response-property-`, `response-header-`. A
request property that is `readOnly` (`request-read-only-property-`) or a response property that
is `writeOnly` (`response-write-only-property-`) is not sent that way, so its changes are `info`.
"""

from dataclasses import dataclass
from itertools import product

BREAKING = "breaking"
WARNING = "warning"
INFO = "info"
DOCS = "docs"
REVIEW = "review"
LEVELS = (BREAKING, WARNING, REVIEW, INFO, DOCS)
FAILING = frozenset({BREAKING, WARNING, REVIEW})
OASDIFF_LEVEL = {BREAKING: "ERR", WARNING: "WARN", INFO: "INFO"}

UNCLASSIFIED = "unclassified"
ANNOTATION = "annotation-changed"


@dataclass(frozen=True)
class Rule:
    id: str
    level: str
    why: str


_RULES: dict[str, Rule] = {}


def _add(rule_id: str, level: str, why: str) -> None:
    _RULES[rule_id] = Rule(rule_id, level, why)


def _table(level: str, text: str) -> None:
    """Rules given one a line: `rule-id  why it matters to clients`."""
    for line in text.strip().splitlines():
        rule_id, _, why = line.strip().partition(" ")
        _add(rule_id, level, why.strip())


# --- operations, paths, webhooks, callbacks, security, document ----------------------------------

_table(
    BREAKING,
    """
    api-path-removed-without-deprecation  clients calling the path now get 404; it was never deprecated
    api-removed-without-deprecation  clients calling the operation now get an error; it was never deprecated
    api-path-removed-before-sunset  the path is gone before the x-sunset date clients were promised
    api-removed-before-sunset  the operation is gone before the x-sunset date clients were promised
    api-path-sunset-parse  x-sunset is not a date, so clients cannot tell when the operation goes
    api-deprecated-sunset-parse  x-sunset is not a date, so clients cannot tell when the operation goes
    api-sunset-date-too-small  the announced x-sunset date is already past: no time to migrate
    sunset-deleted  the x-sunset date clients planned around is gone
    api-sunset-date-changed-too-small  x-sunset moved earlier, to a date already past
    api-stability-decreased  the operation's x-stability-level went down: fewer guarantees
    webhook-removed  subscribers relying on the webhook stop receiving it
    callback-removed  clients that registered the callback stop receiving it
    request-body-added-required  existing clients send no body and are rejected
    request-body-removed  clients still send a body that is no longer described
    request-body-became-required  clients that send no body are rejected
    request-body-media-type-removed  clients sending this media type are rejected (415)
    new-required-request-parameter  existing clients do not send it and are rejected
    new-required-request-default-parameter-to-existing-path  every operation of the path now needs it; existing clients do not send it
    new-request-path-parameter  the URL template changed: existing clients build the wrong URL
    request-parameter-became-required  clients that omit it are rejected
    request-parameter-x-extensible-enum-value-removed  clients may still send the removed value
    request-property-x-extensible-enum-value-removed  clients may still send the removed value
    new-required-request-property  existing clients do not send it and are rejected
    new-required-request-property-with-default  required even with a default: requests that omit it are invalid
    request-property-became-required  clients that omit it are rejected
    request-property-became-required-with-default  required even with a default: requests that omit it are invalid
    response-success-status-removed  clients expecting this success status get something else
    response-media-type-removed  clients asking for (or parsing) this media type no longer get it
    required-response-header-removed  clients reading the header no longer get it
    response-header-became-optional  clients reading the header may not get it
    response-required-property-removed  clients reading the property no longer get it
    response-property-became-optional  clients reading the property may not get it
    response-body-wrapped-in-one-of  the body moved under oneOf: clients parse a different shape
    request-body-wrapped-in-one-of  the body moved under oneOf: payloads may match several branches and be rejected
    """,  # noqa: E501
)
_table(
    WARNING,
    """
    request-parameter-removed  clients still send it: the server may reject it or ignore it silently
    request-property-removed  clients still send it: the server may reject it or ignore it silently
    response-optional-property-removed  clients that read the optional property no longer get it
    optional-response-header-removed  clients that read the optional header no longer get it
    response-required-property-became-not-write-only  a property clients never saw in responses now appears there
    """,  # noqa: E501
)
_table(
    INFO,
    """
    endpoint-added  a new operation: existing clients do not call it
    endpoint-deprecated  deprecated without a sunset date: clients are told to move on, nothing breaks yet
    endpoint-deprecated-with-sunset  deprecated with a sunset date: clients are told when it goes
    endpoint-reactivated  no longer deprecated
    api-path-removed-with-deprecation  removed after it was deprecated: clients were warned
    api-removed-with-deprecation  removed after it was deprecated: clients were warned
    api-sunset-date-changed  the x-sunset date moved, still in the future
    api-stability-increased  the operation's x-stability-level went up
    api-operation-id-added  the operationId is new: generated SDK method names change, the wire does not
    api-operation-id-removed  the operationId changed or went: generated SDK method names change, the wire does not
    api-tag-added  grouping only
    api-tag-removed  grouping only
    api-security-added  the operation lists a new security requirement (oasdiff: info)
    api-security-removed  a security requirement was removed: less is asked of clients
    api-security-scope-added  a scope was added to a security requirement (oasdiff: info)
    api-security-scope-removed  a scope was removed: less is asked of clients
    api-global-security-added  a global security requirement was added (oasdiff: info)
    api-global-security-removed  a global security requirement was removed
    api-global-security-scope-added  a scope was added to a global requirement (oasdiff: info)
    api-global-security-scope-removed  a scope was removed from a global requirement
    api-security-component-added  a new security scheme; operations that do not use it are unchanged
    api-security-component-removed  a security scheme was removed from components
    api-security-component-type-changed  a security scheme's type changed (oasdiff: info)
    api-security-component-oauth-url-changed  an OAuth flow's authorization URL changed (oasdiff: info)
    api-security-component-oauth-token-url-changed  an OAuth flow's token URL changed (oasdiff: info)
    api-security-component-oauth-scope-added  an OAuth flow offers a new scope
    api-security-component-oauth-scope-removed  an OAuth flow no longer offers a scope (oasdiff: info)
    api-security-component-oauth-scope-changed  an OAuth scope's description changed
    api-schema-removed  a component schema was removed; where it was used is reported there
    api-servers-changed  the server list changed: clients configured from it resolve other URLs
    webhook-added  a new webhook: existing subscribers are unaffected
    callback-added  a new callback: existing clients are unaffected
    request-body-added-optional  an optional body: existing clients may keep sending none
    request-body-became-optional  clients may now omit the body
    request-body-media-type-added  clients may also send this media type
    new-optional-request-parameter  optional: existing clients may keep omitting it
    new-optional-request-default-parameter-to-existing-path  optional, for every operation of the path
    request-parameter-removed-with-deprecation  removed after it was deprecated
    request-parameter-became-optional  clients may now omit it
    request-parameter-deprecated  deprecated: clients are told to stop sending it
    request-parameter-reactivated  no longer deprecated
    new-optional-request-property  optional: existing clients may keep omitting it
    request-property-became-optional  clients may now omit it
    request-read-only-property-added  readOnly: clients do not send it
    request-read-only-property-removed  readOnly: clients did not send it
    request-read-only-property-became-required  readOnly: clients do not send it
    request-read-only-property-became-optional  readOnly: clients do not send it
    response-success-status-added  a new success status; clients should handle statuses they do not know
    response-non-success-status-added  a new error status; clients should handle statuses they do not know
    response-non-success-status-removed  an error status is no longer returned
    response-default-added  a default response is now described
    response-default-removed  the default (catch-all) response is no longer described (oasdiff: no finding)
    response-media-type-added  the server may also answer in this media type when asked
    response-header-added  a new header: clients that do not read it are unaffected
    response-header-became-required  the header is now always sent
    response-header-deprecated  the header is deprecated
    response-header-reactivated  the header is no longer deprecated
    response-required-property-added  a new property: clients ignore what they do not read
    response-optional-property-added  a new property: clients ignore what they do not read
    response-required-write-only-property-added  writeOnly: not in responses
    response-optional-write-only-property-added  writeOnly: not in responses
    response-required-write-only-property-removed  writeOnly: was not in responses
    response-optional-write-only-property-removed  writeOnly: was not in responses
    response-property-became-required  now always sent: clients get more than before
    response-write-only-property-became-optional  writeOnly: not in responses
    response-write-only-property-became-required  writeOnly: not in responses
    response-links-changed  links are hints for clients, not the wire format
    """,  # noqa: E501
)
_add(ANNOTATION, DOCS, "documentation only: the wire format is unchanged")
_add(
    UNCLASSIFIED,
    REVIEW,
    "no rule classifies this change: a reviewer decides whether it breaks clients",
)

# --- schema rules: (suffix, request level, response level, why in a request, why in a response) ---

_SCHEMA: list[tuple[str, str, str, str, str]] = [
    ("became-nullable", INFO, BREAKING,
     "clients may now send null",
     "the server may now return null to clients that do not expect it"),
    ("became-not-nullable", BREAKING, INFO,
     "clients sending null are rejected",
     "the server no longer returns null"),
    ("became-enum", BREAKING, INFO,
     "only the listed values are accepted now: clients sending others are rejected",
     "the server now returns only the listed values"),
    ("enum-removed", INFO, BREAKING,
     "any value is accepted now",
     "the server may return values outside the old list: generated clients parse enums strictly"),
    ("enum-value-added", INFO, BREAKING,
     "clients may send one more value",
     "clients (our generated Python client among them) reject a value they do not know"),
    ("enum-value-removed", BREAKING, INFO,
     "clients still sending the removed value are rejected",
     "the server no longer returns the value"),
    ("x-extensible-enum-value-added", INFO, INFO,
     "clients may send one more value",
     "x-extensible-enum: clients must expect new values"),
    ("x-extensible-enum-value-removed", BREAKING, INFO,
     "clients may still send the removed value",
     "the server no longer returns the value"),
    ("default-value-added", INFO, INFO,
     "the server fills in a default when clients omit the value",
     "documentation of a default"),
    ("default-value-removed", INFO, INFO,
     "the server no longer documents a default",
     "documentation of a default"),
    ("default-value-changed", INFO, INFO,
     "the server fills in another default when clients omit the value",
     "documentation of a default"),
    ("type-changed", BREAKING, BREAKING,
     "values clients send in the old type are rejected",
     "clients parse the value as the old type"),
    ("type-generalized", INFO, BREAKING,
     "every value of the old type is still accepted",
     "the server may return values outside the old type (integer -> number: fractions)"),
    ("type-specialized", INFO, INFO,
     "",
     "the server returns a narrower type, within the old one (number -> integer)"),
    ("type-compatible", INFO, INFO,
     "in this loosely typed location every old value is still valid",
     "in this loosely typed location every new value reads as an old one"),
    ("list-of-types-widened", INFO, BREAKING,
     "the schema accepts more types",
     "the server may return types clients do not expect"),
    ("list-of-types-narrowed", BREAKING, INFO,
     "values of the removed types are rejected",
     "the server returns fewer types"),
    ("pattern-added", BREAKING, INFO,
     "values that do not match the new pattern are rejected",
     "the server's values follow a pattern"),
    ("pattern-removed", INFO, INFO,
     "any string is accepted now",
     "the pattern is no longer promised"),
    ("pattern-changed", WARNING, INFO,
     "values valid under the old pattern may be rejected by the new one",
     "the server's values follow another pattern"),
    ("pattern-generalized", INFO, INFO,
     "the new pattern accepts anything",
     "the server's values follow another pattern"),
    ("const-added", BREAKING, INFO,
     "only one value is accepted now",
     "the server returns one value"),
    ("const-removed", INFO, BREAKING,
     "any value is accepted now",
     "clients relying on the constant may get other values"),
    ("const-changed", BREAKING, BREAKING,
     "clients sending the old constant are rejected",
     "clients relying on the old constant get another value"),
    ("one-of-added", INFO, BREAKING,
     "one more alternative is accepted",
     "the server may return an alternative clients do not handle"),
    ("one-of-removed", BREAKING, INFO,
     "payloads of the removed alternative are rejected",
     "the server returns fewer alternatives"),
    ("any-of-added", INFO, INFO,
     "one more alternative is accepted",
     "the server may return one more alternative (oasdiff: info)"),
    ("any-of-removed", BREAKING, INFO,
     "payloads of the removed alternative are rejected",
     "the server returns fewer alternatives"),
    ("all-of-added", BREAKING, INFO,
     "payloads must also match the new schema",
     "responses also match the new schema"),
    ("all-of-removed", WARNING, INFO,
     "payloads need not match the removed schema; the server's checks changed",
     "responses need not match the removed schema"),
    ("discriminator-added", INFO, INFO, "a discriminator describes the alternatives", ""),
    ("discriminator-removed", INFO, INFO, "the discriminator is no longer described", ""),
    ("discriminator-property-name-changed", INFO, INFO, "the discriminator property changed", ""),
    ("discriminator-mapping-changed", INFO, INFO, "the discriminator mapping changed", ""),
    ("additional-properties-closed", WARNING, INFO,
     "unknown properties, accepted until now, are rejected",
     "the server promises no unknown properties"),
    ("additional-properties-opened", INFO, INFO,
     "unknown properties are accepted now",
     "the server may send properties clients do not know; they should ignore them"),
    ("deprecated", INFO, INFO,
     "deprecated: clients are told to stop sending it",
     "deprecated: clients are told to stop reading it"),
    ("reactivated", INFO, INFO, "no longer deprecated", "no longer deprecated"),
]  # fmt: skip

# Bounds: upper (maxLength, maximum, ...) and lower (minLength, minimum, ...), each set (none ->
# n), unset (n -> none), increased or decreased.
_UPPER = {"maxLength": "max-length", "maximum": "max", "exclusiveMaximum": "exclusive-max",
          "maxItems": "max-items", "maxProperties": "max-properties"}  # fmt: skip
_LOWER = {"minLength": "min-length", "minimum": "min", "exclusiveMinimum": "exclusive-min",
          "minItems": "min-items", "minProperties": "min-properties"}  # fmt: skip
BOUNDS = {**{key: (name, True) for key, name in _UPPER.items()},
          **{key: (name, False) for key, name in _LOWER.items()}}  # fmt: skip
_BOUND_LEVELS = {
    # (upper?, change): (request, response, why in a request, why in a response)
    (True, "set"): (WARNING, INFO, "a new upper limit: longer or larger values may be rejected",
                    "the server promises a limit"),
    (True, "unset"): (INFO, BREAKING, "the limit is gone: more values are accepted",
                      "no limit now: clients may get longer or larger values than they allow for"),
    (True, "increased"): (INFO, BREAKING, "more values are accepted",
                          "clients may get longer or larger values than they allow for"),
    (True, "decreased"): (BREAKING, INFO, "values clients could send until now are rejected",
                          "the server returns smaller values"),
    (False, "set"): (WARNING, INFO, "a new lower limit: shorter or smaller values may be rejected",
                     "the server promises a limit"),
    (False, "unset"): (INFO, BREAKING, "the limit is gone: more values are accepted",
                       "no limit now: clients may get shorter or smaller values than they expect"),
    (False, "increased"): (BREAKING, INFO, "values clients could send until now are rejected",
                           "the server returns larger values"),
    (False, "decreased"): (INFO, BREAKING, "more values are accepted",
                           "clients may get shorter or smaller values than they allow for"),
}  # fmt: skip
for (upper, change), levels in _BOUND_LEVELS.items():
    for name in (_UPPER if upper else _LOWER).values():
        _SCHEMA.append((f"{name}-{change}", *levels))

# Where a schema is, as the rule-id prefix, per direction.
SCHEMA_PREFIXES = {
    "request": (
        "request-body", "request-property", "request-parameter", "request-parameter-property"
    ),
    "response": (
        "response-body", "response-property", "response-header", "response-header-property"
    ),
}  # fmt: skip
READ_ONLY_PREFIX = "request-read-only-property"
WRITE_ONLY_PREFIX = "response-write-only-property"

# Where oasdiff's level for a schema rule depends on where the schema is.
_OVERRIDES = {
    # A parameter's default is what the server assumes when clients omit it: changing it changes
    # what existing requests mean.
    "request-parameter-default-value-added": BREAKING,
    "request-parameter-default-value-removed": BREAKING,
    "request-parameter-default-value-changed": BREAKING,
    # Request parameters are strings on the wire: a property type change in an object parameter
    # may or may not serialise the same way.
    "request-parameter-property-type-changed": WARNING,
    "request-parameter-property-type-specialized": BREAKING,
    # The response body enum rules oasdiff names differently.
    "response-mediatype-enum-value-removed": INFO,
    # Response headers are read as text (oasdiff: a header type widened is breaking too).
    "response-header-type-generalized": BREAKING,
}
_PARAMETER_DEFAULT_WHY = "existing requests that omit the parameter now mean something else"

for suffix, request, response, why_request, why_response in _SCHEMA:
    for direction, level, why in (
        ("request", request, why_request),
        ("response", response, why_response),
    ):
        for prefix in SCHEMA_PREFIXES[direction]:
            rule_id = f"{prefix}-{suffix}"
            text = (
                _PARAMETER_DEFAULT_WHY if rule_id.startswith("request-parameter-default") else why
            )
            _add(rule_id, _OVERRIDES.get(rule_id, level), text or why_response)
    _add(f"{READ_ONLY_PREFIX}-{suffix}", INFO, "readOnly: clients do not send it")
    _add(f"{WRITE_ONLY_PREFIX}-{suffix}", INFO, "writeOnly: the server does not return it")
_add("response-mediatype-enum-value-removed", INFO, "the server no longer returns the value")

# readOnly / writeOnly flips (all info in oasdiff, but one).
for side, required, flip, flag in product(
    ("request", "response"), ("optional", "required"), ("became", "became-not"),
    ("read-only", "write-only"),
):  # fmt: skip
    rule_id = f"{side}-{required}-property-{flip}-{flag}"
    if rule_id not in _RULES:
        _add(rule_id, INFO, f"the property is {'now' if flip == 'became' else 'no longer'} {flag}")

RULES: dict[str, Rule] = dict(_RULES)


def rule(rule_id: str) -> Rule:
    """The rule of that id; an id without one is `unclassified` (fails closed)."""
    return RULES.get(rule_id) or Rule(rule_id, REVIEW, RULES[UNCLASSIFIED].why)
