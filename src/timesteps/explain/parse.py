"""Read layer specs written as text (``"LSTM(300)"``) into a ``Sequential``.

For the command line: ``timesteps explain "LSTM(300)" "Dense(20)" --input-shape
20,1``. The text is parsed with :mod:`ast` and only calls of this package's
layer constructors with literal arguments are evaluated (numbers, strings,
booleans, None, tuples and lists of them, and nested layer calls for wrappers
such as ``Bidirectional(LSTM(64))``); nothing else is ever run.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from .._errors import near_matches, problem


def parse_layers(
    specs: Sequence[str] | str,
    input_shape: Sequence[int | None] | str | None = None,
) -> Any:
    """Build a ``Sequential`` from layer constructor calls written as text.

    Args:
        specs: one string per layer, e.g. ``["LSTM(300)", "Dense(20)"]``, or one
            string holding a list, ``"[LSTM(300), Dense(20)]"``.
        input_shape: the per-sample input shape ``(T, F)``, as a tuple or as
            text like ``"(20, 1)"`` or ``"20,1"``; ``None`` or ``"None"`` for a
            free T.

    Returns:
        ``Sequential(layers, input_shape=input_shape)``.

    >>> net = parse_layers(["LSTM(300)", "Dense(20)"], input_shape=(20, 1))
    >>> [repr(layer) for layer in net.layers]
    ['LSTM(300)', 'Dense(20)']
    """
    from ..layers import Sequential

    if isinstance(specs, str):
        specs = [specs]
    layers: list[Any] = []
    for spec in specs:
        layers += _parse_one(spec)
    if not layers:
        raise ValueError(
            problem(
                "layer specs",
                "at least one layer, e.g. 'LSTM(10)'",
                "none",
                "pass layers like ['LSTM(10)', 'Dense(1)']",
            )
        )
    shape = parse_shape(input_shape) if isinstance(input_shape, str) else input_shape
    if shape is None:
        return Sequential(layers)
    return Sequential(layers, input_shape=tuple(shape))


def parse_shape(text: str) -> tuple[int | None, ...] | None:
    """``"(20, 1)"``, ``"20,1"`` or ``"None,3"`` as a per-sample shape ``(T, F)``.

    >>> parse_shape("20,1"), parse_shape("(None, 3)")
    ((20, 1), (None, 3))
    """
    cleaned = text.strip()
    if cleaned in ("", "None"):
        return None
    if not cleaned.startswith(("(", "[")):
        cleaned = f"({cleaned},)"
    try:
        value = ast.literal_eval(cleaned)
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, (tuple, list)) or not all(
        v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value
    ):
        raise ValueError(
            problem(
                "input_shape (per-sample shape without B)",
                "integers or None, like '20,1' or '(None, 3)' for (T, F)",
                repr(text),
                "write e.g. --input-shape 20,1",
            )
        )
    return tuple(value)


def _parse_one(spec: str) -> list[Any]:
    try:
        tree = ast.parse(spec.strip(), mode="eval")
    except SyntaxError as error:
        raise ValueError(
            problem(
                "layer spec is not valid Python call syntax",
                "a call like LSTM(300, return_sequences=True)",
                repr(spec),
                f"check the brackets and commas ({error.msg})",
            )
        ) from None
    body = tree.body
    if isinstance(body, (ast.List, ast.Tuple)):
        return [_build(node, spec) for node in body.elts]
    return [_build(body, spec)]


def _classes() -> dict[str, type]:
    from .. import layers
    from ..layers.base import Layer

    out = {}
    for name in getattr(layers, "__all__", dir(layers)):
        value = getattr(layers, name, None)
        if (
            isinstance(value, type)
            and issubclass(value, Layer)
            and name not in ("Layer", "Sequential")
        ):
            out[name] = value
    return out


def _build(node: ast.AST, spec: str) -> Any:
    classes = _classes()
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(
            problem(
                "layer spec must be one layer constructor call",
                "a call like Dense(20) or Bidirectional(LSTM(64))",
                _where(node, spec),
                "write the layer as Name(arguments)",
            )
        )
    name = node.func.id
    if name not in classes:
        raise ValueError(
            problem(
                "unknown layer in a spec",
                "one of " + ", ".join(sorted(classes)),
                repr(name),
                near_matches(name, sorted(classes)),
            )
        )
    args = [_literal(arg, spec) for arg in node.args]
    kwargs = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ValueError(
                problem(
                    "layer spec arguments",
                    "name=value pairs",
                    repr(ast.unparse(keyword)),
                    "write each argument out",
                )
            )
        kwargs[keyword.arg] = _literal(keyword.value, spec)
    try:
        return classes[name](*args, **kwargs)
    except TypeError as error:
        raise TypeError(
            problem(
                f"arguments of {name} in {spec!r}",
                f"the arguments {name} takes",
                ast.unparse(node),
                str(error),
            )
        ) from None


def _where(node: ast.AST, spec: str) -> str:
    """The offending text, and the spec it sits in when that is longer."""
    text = ast.unparse(node)
    return repr(text) if text == spec.strip() else f"{text!r} in {spec!r}"


def _literal(node: ast.AST, spec: str) -> Any:
    if isinstance(node, ast.Call):
        return _build(node, spec)
    if isinstance(node, (ast.Tuple, ast.List)):
        values = [_literal(item, spec) for item in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, (bool, int, float, str))
    ):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, (ast.USub, ast.UAdd))
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, (int, float))
        and not isinstance(node.operand.value, bool)
    ):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    raise ValueError(
        problem(
            "layer arguments must be literals",
            "numbers, strings, True/False/None, tuples, lists or layer calls",
            _where(node, spec),
            "write the value itself, e.g. units=300, not an expression",
        )
    )
