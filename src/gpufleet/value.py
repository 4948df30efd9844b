"""A base for the small immutable values built once or more per job (allocations, events).

A frozen dataclass builds each instance through a generated `__init__` that is interpreted
even in a compiled module and sets every field through `object.__setattr__`: about 1.2 us
for three fields, against 0.05 us for a compiled class with its own `__init__`
(docs/design/compiled.md). A year of the national fleet builds hundreds of millions of them.
Subclasses keep the dataclass contract that callers rely on: fields set once (`Final`,
enforced by mypy and, compiled, at run time), equality and hashing by value, a readable
repr, pattern matching and pickling. Each names its fields in `__match_args__` and returns
them, in that order, from `_key`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Value:
    """Equality, hash, repr and pickling from `_key()`, the fields named in `__match_args__`."""

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def _key(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = zip(self.__match_args__, self._key(), strict=True)
        return f"{type(self).__name__}({', '.join(f'{n}={v!r}' for n, v in fields)})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), self._key())
