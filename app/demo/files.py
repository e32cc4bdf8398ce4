"""Small demo documents: a one-page PDF or a PNG "scan" of a few KB, each carrying its own lines
(the document's title and the person's reception number), so that every generated document's
bytes differ while costing about a millisecond to make.

The PNG is written by Pillow without any metadata, as ``app/documents`` stores an image once
re-encoded; the PDF is a valid one-page file (Helvetica, WinAnsi encoding, cross-reference
table) that any viewer opens.
"""

from __future__ import annotations

import io
import unicodedata
from typing import Any

_ESCAPES = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)"})


def _pdf_text(line: str) -> bytes:
    return line.translate(_ESCAPES).encode("cp1252", errors="replace")


def pdf(title: str, lines: list[str]) -> bytes:
    """A one-page A4 PDF: ``title`` in bold, then ``lines``."""
    content = [b"BT /F2 16 Tf 56 780 Td (" + _pdf_text(title) + b") Tj ET"]
    y = 740
    for line in lines:
        content.append(b"BT /F1 11 Tf 56 %d Td (" % y + _pdf_text(line) + b") Tj ET")
        y -= 18
    content.append(b"56 60 m 539 60 l S")
    stream = b"\n".join(content)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += (b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, xref))
    return bytes(out)


def _ascii(text: str) -> str:
    """Pillow's built-in font has no accented letters: "Pièce" is drawn "Piece"."""
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if ord(ch) < 128)


_TEMPLATES: dict[tuple[str, int], Any] = {}
WIDTH, HEIGHT = 320, 200


def _template(title: str, shade: int) -> Any:
    """The frame, title and ruled lines of a "photographed form", drawn once per process."""
    from PIL import Image, ImageDraw

    key = (title, shade % 8)
    if key not in _TEMPLATES:
        image = Image.new("L", (WIDTH, HEIGHT), 245)
        draw = ImageDraw.Draw(image)
        draw.rectangle((6, 6, WIDTH - 7, HEIGHT - 7), outline=60, width=2)
        draw.text((16, 14), _ascii(title), fill=20, font=_font())
        for row, ruled in enumerate(range(86, HEIGHT - 16, 12)):
            draw.line((16, ruled, 40 + (key[1] * 37 + row * 53) % (WIDTH - 72), ruled),
                      fill=130, width=3)
        _TEMPLATES[key] = image
    return _TEMPLATES[key]


def _font() -> Any:
    """Pillow's bitmap font: a tenth of the time of its FreeType default to draw a line."""
    from PIL import ImageFont

    return ImageFont.load_default_imagefont()


def png(title: str, lines: list[str], shade: int = 0) -> bytes:
    """A small grey PNG that looks like a photographed form: a frame, ``title``, ruled lines
    (one of eight patterns, after ``shade``) and up to three ``lines`` of its own."""
    from PIL import ImageDraw

    image = _template(title, shade).copy()
    draw = ImageDraw.Draw(image)
    font = _font()
    for index, line in enumerate(lines[:3]):
        draw.text((16, 34 + 16 * index), _ascii(line), fill=40, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
