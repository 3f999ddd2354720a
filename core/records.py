"""Records: typed value classes without code generated per class.

`dataclasses` writes and compiles an `__init__`, `__repr__`, `__eq__`, `__hash__` and
`__setattr__` for every class it decorates, about half a millisecond each, and loading
it loads `inspect`: for the event catalogue and the case state, which every `tovholder`
command loads, that was a third of a command's start. A `Record` subclass instead shares
one implementation of each, driven by the table of fields that `__init_subclass__` reads
from the class's own annotations. To mypy (`dataclass_transform`) a subclass is a
dataclass, frozen and keyword-only unless its class statement says `frozen=False` or
`kw_only=False`; so a misspelt or missing field is a type error there and a `TypeError`
at run time, and assigning to a field of a frozen record raises `FrozenInstanceError`
(an `AttributeError`). A mutable record compares by value and is not hashable, as a
mutable dataclass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple, Self, TypeVar, dataclass_transform, overload

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """An attempt to change a field of a frozen record."""


class FieldSpec(NamedTuple):
    """One field of a record, in the order of the class's annotations."""

    name: str
    type: Any  # the annotation as written (text, under `from __future__ import annotations`)
    default: Any  # MISSING when the field has none
    factory: Any  # MISSING unless the default is made per instance
    kw_only: bool | None  # None: as the class says
    repr: bool


@overload
def field(*, default: T, kw_only: bool | None = None, repr: bool = True) -> T: ...
@overload
def field(*, default_factory: Callable[[], T], kw_only: bool | None = None, repr: bool = True) -> T: ...
@overload
def field(*, kw_only: bool | None = None, repr: bool = True) -> Any: ...
def field(
    *, default: Any = MISSING, default_factory: Any = MISSING, kw_only: bool | None = None, repr: bool = True
) -> Any:
    """A field with a default made per instance, a positional field, or one left out of repr."""
    return FieldSpec("", None, default, default_factory, kw_only, repr)


def _spec(name: str, annotation: Any, value: Any, kw_only: bool) -> FieldSpec:
    """The field `name` from its annotation and what the class body assigned to it."""
    if isinstance(value, FieldSpec):
        return value._replace(name=name, type=annotation, kw_only=kw_only if value.kw_only is None else value.kw_only)
    if isinstance(value, (list, dict, set)):
        raise ValueError(f"mutable default {type(value).__name__} for field {name}: use default_factory")
    return FieldSpec(name, annotation, value, MISSING, kw_only, True)


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
class Record:
    """Base of a record whose fields are its annotated class attributes."""

    __slots__ = ()
    _fields: ClassVar[tuple[FieldSpec, ...]] = ()
    _positional: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, *, frozen: bool = True, kw_only: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = {spec.name: spec for base in reversed(cls.__bases__) for spec in getattr(base, "_fields", ())}
        own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 (`inspect` costs a command's start-up)
        for name, annotation in own.items():
            if _is_classvar(annotation):
                continue
            value = cls.__dict__.get(name, MISSING)
            table[name] = spec = _spec(name, annotation, value, kw_only)
            if isinstance(value, FieldSpec):  # as dataclasses leave it: the default, or nothing
                if spec.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, spec.default)
        cls._fields = tuple(table.values())
        cls._positional = tuple(spec.name for spec in cls._fields if not spec.kw_only)
        setattr(cls, "__match_args__", cls._positional)  # noqa: B010 (mypy owns the name)
        if not frozen:
            cls.__setattr__ = object.__setattr__  # type: ignore[method-assign, assignment]
            cls.__delattr__ = object.__delattr__  # type: ignore[method-assign]
            cls.__hash__ = None  # type: ignore[assignment]

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

    def as_dict(self) -> dict[str, Any]:
        """The fields by name (a shallow copy, unlike `dataclasses.asdict`)."""
        values = self.__dict__
        return {spec.name: values[spec.name] for spec in self._fields}

    def replace(self, **changes: Any) -> Self:
        """A new record with the same fields but `changes` (as `dataclasses.replace`)."""
        return type(self)(**{**self.as_dict(), **changes})

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
