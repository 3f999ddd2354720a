"""Frozen records: typed, immutable value classes without code generated per class.

`dataclasses` writes and compiles an `__init__`, `__repr__`, `__eq__`, `__hash__` and
`__setattr__` for every class it decorates, about half a millisecond each: for the event
catalogue, which every `tovholder` command loads, that was a fifth of a command's start.
A `Frozen` subclass instead shares one implementation of each, driven by the table of
fields that `__init_subclass__` reads from the class's own annotations. To mypy
(`dataclass_transform`) a subclass is a frozen, keyword-only dataclass, so a misspelt or
missing field is a type error there and a `TypeError` at run time, and assigning to a
field raises `dataclasses.FrozenInstanceError`, as a frozen dataclass does.

Supported of `dataclasses.field`: `default`, `default_factory`, `kw_only` and `repr`.
"""

from __future__ import annotations

import inspect
from dataclasses import MISSING, Field, FrozenInstanceError, field
from typing import Any, ClassVar, NamedTuple, dataclass_transform


class FieldSpec(NamedTuple):
    """One field of a frozen record, in the order of the class's annotations."""

    name: str
    type: Any  # the annotation as written (text, under `from __future__ import annotations`)
    default: Any  # MISSING when the field has none
    factory: Any  # MISSING unless the default is made per instance
    kw_only: bool
    repr: bool


def _spec(name: str, annotation: Any, value: Any) -> FieldSpec:
    """The field `name` from its annotation and what the class body assigned to it."""
    if not isinstance(value, Field):
        if isinstance(value, (list, dict, set)):
            raise ValueError(f"mutable default {type(value).__name__} for field {name}: use default_factory")
        return FieldSpec(name, annotation, value, MISSING, True, True)
    if not (value.init and value.compare and value.hash is None and not value.metadata):
        raise TypeError(f"field {name}: a frozen record supports only default, default_factory, kw_only and repr")
    kw_only = True if value.kw_only is MISSING else bool(value.kw_only)
    return FieldSpec(name, annotation, value.default, value.default_factory, kw_only, bool(value.repr))


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
class Frozen:
    """Base of an immutable record whose fields are its annotated class attributes."""

    __slots__ = ()
    _fields: ClassVar[tuple[FieldSpec, ...]] = ()
    _positional: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = {spec.name: spec for base in reversed(cls.__bases__) for spec in getattr(base, "_fields", ())}
        for name, annotation in inspect.get_annotations(cls).items():
            if _is_classvar(annotation):
                continue
            value = cls.__dict__.get(name, MISSING)
            table[name] = spec = _spec(name, annotation, value)
            if isinstance(value, Field):  # as dataclasses leave it: the default, or nothing
                if spec.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, spec.default)
        cls._fields = tuple(table.values())
        cls._positional = tuple(spec.name for spec in cls._fields if not spec.kw_only)
        setattr(cls, "__match_args__", cls._positional)  # noqa: B010 (mypy owns the name)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        if len(args) > len(cls._positional):
            raise TypeError(f"{cls.__qualname__}() takes {len(cls._positional)} positional arguments, got {len(args)}")
        for name, value in zip(cls._positional, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{cls.__qualname__}() got multiple values for argument {name!r}")
            kwargs[name] = value
        values = self.__dict__
        for spec in cls._fields:
            if spec.name in kwargs:
                values[spec.name] = kwargs.pop(spec.name)
            elif spec.factory is not MISSING:
                values[spec.name] = spec.factory()
            elif spec.default is not MISSING:
                values[spec.name] = spec.default
            else:
                raise TypeError(f"{cls.__qualname__}() missing required argument {spec.name!r}")
        if kwargs:
            raise TypeError(f"{cls.__qualname__}() got an unexpected keyword argument {next(iter(kwargs))!r}")

    def _values(self) -> tuple[Any, ...]:
        values = self.__dict__
        return tuple(values[spec.name] for spec in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{spec.name}={self.__dict__[spec.name]!r}" for spec in self._fields if spec.repr)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")
