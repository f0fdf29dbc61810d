"""A GBNF grammar that forces one JSON object with exactly the requested keys.

Used by the ``json`` preset: the model can only produce valid JSON, so the
answer parses even from a small model. Strings and numbers are bounded in
length so generation always ends within ``max_tokens`` on any model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

_MAX_STRING = 400
_MAX_ITEMS = 20

_VALUE_RULES = rf"""
value  ::= string | number | array | "true" | "false" | "null"
array  ::= "[" ws ( string ( ws "," ws string ){{0,{_MAX_ITEMS - 1}}} )? ws "]"
string ::= "\"" char{{0,{_MAX_STRING}}} "\""
char   ::= [^"\\\x00-\x1f] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{{4}} )
number ::= "-"? [0-9]{{1,15}} ( "." [0-9]{{1,10}} )?
ws     ::= [ \t\n]{{0,4}}
"""


def _gbnf_literal(text: str) -> str:
    """A GBNF string literal matching ``text`` exactly."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def object_grammar(fields: Sequence[str]) -> str:
    if not fields:
        raise ValueError("at least one field is needed")
    members = [f'{_gbnf_literal(json.dumps(name))} ws ":" ws value' for name in fields]
    body = ' ws "," ws '.join(members)
    return f'root ::= "{{" ws {body} ws "}}"\n{_VALUE_RULES}'


def object_schema(fields: Sequence[str]) -> dict[str, object]:
    """The same constraint as a JSON Schema, for servers that take one (Ollama, OpenAI)."""
    return {
        "type": "object",
        "properties": {name: {} for name in fields},
        "required": list(fields),
        "additionalProperties": False,
    }
