"""matchingId generation and activation codes (esim-rsp 1.6, 1.8; spec 2.2.5)."""

from __future__ import annotations

import secrets
import string
from typing import Final

from mobileplans.kit.esim import ActivationCode, ActivationCodeError

_ALPHABET: Final = string.ascii_uppercase + string.digits
GROUPS: Final = 4
GROUP_LENGTH: Final = 4


def new_matching_id() -> str:
    """Upper-case letters and digits in dash-separated groups: ``AB12-CD34-EF56-GH78``
    (80 bits of randomness; the ``^[-0-9A-Z]*$`` character set of esim-rsp 1.6)."""
    groups = (
        "".join(secrets.choice(_ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS)
    )
    return "-".join(groups)


def activation_code(address: str, matching_id: str, cc_required: bool) -> ActivationCode:
    """``1$<address>$<matchingId>`` (``$$1`` appended when a confirmation code is required),
    validated by parsing it back; never with the ``LPA:`` prefix (spec 2.2.5).

    Raises :class:`mobileplans.kit.esim.ActivationCodeError` for a matchingId outside the
    activation-code character set.
    """
    if matching_id == "":
        raise ActivationCodeError("an empty matchingId (default SM-DP+ flow) is not supported")
    code = ActivationCode(address, matching_id, confirmation_code_required=cc_required)
    if "$" in matching_id or ActivationCode.parse(str(code)) != code:
        raise ActivationCodeError(f"invalid matchingId {matching_id!r}")
    return code
