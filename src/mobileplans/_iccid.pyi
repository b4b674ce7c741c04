"""Type stub of the C extension ``mobileplans._iccid`` (src/mobileplans/_iccid.c)."""

from collections.abc import Sequence
from typing import Any

class RangeTable:
    def __init__(
        self,
        start_hi: Sequence[int],
        start_lo: Sequence[int],
        end_hi: Sequence[int],
        end_lo: Sequence[int],
        owners: Sequence[Any],
        /,
    ) -> None: ...
    def resolve(self, iccid: str, /) -> Any: ...
    def __len__(self) -> int: ...
