"""The operators' generated PNG assets (spec 3.3 logo 300×300, 3.4 gateway image)."""

from __future__ import annotations

import struct
import zlib

import httpx
import pytest

from mobileplans.apps.operator.assets import PALETTE, brand_color, encode_png, render
from mobileplans.config import OperatorSite
from tests.apps.operator.conftest import make_site


@pytest.fixture
def operator_sites() -> list[OperatorSite]:
    return [make_site("contoso", brand_color="#0f3057"), make_site("fabrikam")]


class Png:
    """A minimal independent PNG reader: chunk CRCs, IHDR, filter-0 8-bit RGB pixels."""

    def __init__(self, data: bytes) -> None:
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        chunks: list[tuple[bytes, bytes]] = []
        offset = 8
        while offset < len(data):
            (length,) = struct.unpack(">I", data[offset : offset + 4])
            kind = data[offset + 4 : offset + 8]
            body = data[offset + 8 : offset + 8 + length]
            (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
            assert zlib.crc32(kind + body) == crc, kind
            chunks.append((kind, body))
            offset += 12 + length
        assert chunks[0][0] == b"IHDR"
        assert chunks[-1] == (b"IEND", b"")
        ihdr = chunks[0][1]
        self.width, self.height, depth, color_type, _, _, interlace = struct.unpack(
            ">IIBBBBB", ihdr
        )
        assert (depth, color_type, interlace) == (8, 2, 0)
        raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
        stride = 1 + 3 * self.width
        assert len(raw) == stride * self.height
        self.rows = [raw[y * stride : (y + 1) * stride] for y in range(self.height)]
        assert all(row[0] == 0 for row in self.rows)

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        r, g, b = self.rows[y][1 + 3 * x : 4 + 3 * x]
        return r, g, b


async def test_logo_is_a_300_square_png_in_the_brand_colour(
    operator_client: httpx.AsyncClient,
) -> None:
    response = await operator_client.get("/contoso/static/logo-300.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert "max-age" in response.headers["cache-control"]
    png = Png(response.content)
    assert (png.width, png.height) == (300, 300)
    assert png.pixel(0, 0) == (0x0F, 0x30, 0x57)  # the configured brand colour
    assert png.pixel(150, 60) == (255, 255, 255)  # the white disc
    assert png.pixel(200, 200) == (0x0F, 0x30, 0x57)  # a signal bar


async def test_gateway_image_is_740_by_480(operator_client: httpx.AsyncClient) -> None:
    response = await operator_client.get("/contoso/static/gateway-740x480.png")
    assert response.status_code == 200
    png = Png(response.content)
    assert (png.width, png.height) == (740, 480)
    assert png.pixel(0, 0) == (0x0F, 0x30, 0x57)
    top, bottom = png.pixel(10, 5), png.pixel(10, 475)
    assert sum(bottom) < sum(top)  # darkens downwards


async def test_unconfigured_colour_comes_from_the_palette(
    operator_client: httpx.AsyncClient,
) -> None:
    png = Png((await operator_client.get("/fabrikam/static/logo-300.png")).content)
    colour = brand_color(make_site("fabrikam"))
    assert colour in PALETTE
    value = int(colour[1:], 16)
    assert png.pixel(0, 0) == (value >> 16, (value >> 8) & 0xFF, value & 0xFF)


async def test_etag_revalidation_and_unknown_operator(operator_client: httpx.AsyncClient) -> None:
    first = await operator_client.get("/contoso/static/logo-300.png")
    etag = first.headers["etag"]
    again = await operator_client.get(
        "/contoso/static/logo-300.png", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    other = await operator_client.get(
        "/fabrikam/static/logo-300.png", headers={"If-None-Match": etag}
    )
    assert other.status_code == 200
    assert (await operator_client.get("/nobody/static/logo-300.png")).status_code == 404


def test_encode_png_checks_row_sizes() -> None:
    with pytest.raises(ValueError, match="rows"):
        encode_png(2, 1, [b"\x00" * 5])
    png = Png(render(3, 2, lambda y: (y, y, y), []))
    assert [png.pixel(0, 0), png.pixel(2, 1)] == [(0, 0, 0), (1, 1, 1)]
