"""Brand images of each hosted operator, drawn at start-up as real PNGs (spec 3.3, 3.4).

- ``/{op}/static/logo-300.png``: 300×300 logo (the Mobile Plans logo size)
- ``/{op}/static/gateway-740x480.png``: 740×480 gateway-template image

Both use the site's ``brand_color`` (or a colour picked from its id). They are encoded
here with ``zlib`` and ``struct`` (8-bit RGB, no interlace), cached per colour, and
served with an ``ETag`` and a day of ``Cache-Control``. The broker's demo configuration
points its logo and gateway image at these URLs.
"""

from __future__ import annotations

import functools
import hashlib
import math
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from mobileplans.apps.operator.deps import Site
from mobileplans.config import OperatorSite

RGB = tuple[int, int, int]
WHITE: Final = (255, 255, 255)
PALETTE: Final = ("#0F3057", "#7A1F5C", "#1B6F4A", "#B3541E", "#3B3B98", "#00708A")
PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
CACHE_CONTROL: Final = "public, max-age=86400"

router = APIRouter(prefix="/{operator_id}/static", tags=["assets"])


@dataclass(frozen=True)
class Rect:
    x0: int
    y0: int
    x1: int
    y1: int
    color: RGB

    def span(self, y: int) -> tuple[int, int] | None:
        return (self.x0, self.x1) if self.y0 <= y < self.y1 else None


@dataclass(frozen=True)
class Disc:
    cx: int
    cy: int
    r: int
    color: RGB

    def span(self, y: int) -> tuple[int, int] | None:
        dy = y + 0.5 - self.cy
        if abs(dy) > self.r:
            return None
        dx = math.sqrt(self.r * self.r - dy * dy)
        return round(self.cx - dx), round(self.cx + dx)


Shape = Rect | Disc


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(width: int, height: int, rows: Sequence[bytes]) -> bytes:
    """A PNG of 8-bit RGB ``rows`` (each ``3 × width`` bytes), filter type 0."""
    if len(rows) != height or any(len(row) != 3 * width for row in rows):
        raise ValueError("rows do not match the image size")
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def render(
    width: int, height: int, background: Callable[[int], RGB], shapes: Sequence[Shape]
) -> bytes:
    """Paint ``shapes`` in order over a background colour chosen per row."""
    rows = []
    for y in range(height):
        row = bytearray(bytes(background(y)) * width)
        for shape in shapes:
            span = shape.span(y)
            if span is not None:
                x0, x1 = max(0, span[0]), min(width, span[1])
                if x1 > x0:
                    row[3 * x0 : 3 * x1] = bytes(shape.color) * (x1 - x0)
        rows.append(bytes(row))
    return encode_png(width, height, rows)


def parse_color(text: str) -> RGB:
    value = int(text.removeprefix("#"), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def brand_color(site: OperatorSite) -> str:
    """The site's ``brand_color``, else one of ``PALETTE`` picked by its id (stable)."""
    if site.brand_color:
        return site.brand_color.upper()
    digest = hashlib.sha256(site.operator_id.encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def _signal_bars(left: int, bottom: int, unit: int, color: RGB) -> list[Shape]:
    """Four rising bars, ``unit`` wide with ``unit // 2`` gaps: the network glyph."""
    return [
        Rect(
            left + i * (unit * 3 // 2),
            bottom - unit * (i + 1) * 5 // 4,
            left + i * (unit * 3 // 2) + unit,
            bottom,
            color,
        )
        for i in range(4)
    ]


@functools.lru_cache(maxsize=64)
def logo_png(color: str) -> bytes:
    """300×300: a white disc with the brand's signal bars on the brand colour."""
    brand = parse_color(color)
    shapes: list[Shape] = [Disc(150, 150, 112, WHITE), *_signal_bars(84, 206, 24, brand)]
    return render(300, 300, lambda _y: brand, shapes)


def _shade(color: RGB, factor: float) -> RGB:
    r, g, b = (max(0, min(255, round(c * factor))) for c in color)
    return r, g, b


@functools.lru_cache(maxsize=64)
def gateway_png(color: str) -> bytes:
    """740×480: the brand colour darkening downwards, a light band and the logo glyph."""
    brand = parse_color(color)
    shapes: list[Shape] = [
        Rect(0, 330, 740, 342, _shade(brand, 1.6)),
        Disc(560, 190, 110, WHITE),
        *_signal_bars(498, 245, 23, brand),
        Rect(60, 150, 380, 178, WHITE),
        Rect(60, 200, 300, 214, _shade(brand, 1.8)),
    ]
    return render(740, 480, lambda y: _shade(brand, 1.0 - 0.45 * y / 480), shapes)


def _png_response(request: Request, body: bytes) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="image/png", headers=headers)


@router.get("/logo-300.png", response_class=Response)
async def logo(request: Request, site: Site) -> Response:
    """The operator's 300×300 logo (spec 3.3)."""
    return _png_response(request, logo_png(brand_color(site)))


@router.get("/gateway-740x480.png", response_class=Response)
async def gateway_image(request: Request, site: Site) -> Response:
    """The operator's 740×480 gateway-template image (spec 3.4)."""
    return _png_response(request, gateway_png(brand_color(site)))
