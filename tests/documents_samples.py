"""Small sample files for the documents' tests: a PDF holding a marker string, images with
metadata (EXIF camera and GPS position)."""

from __future__ import annotations

import io

MARKER = "PASSERELLE-MARQUEUR-EN-CLAIR-7F3A"


def pdf_bytes(text: str = MARKER, padding: int = 0) -> bytes:
    """A minimal one-page PDF whose content stream holds ``text`` in clear."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    body = (b"%PDF-1.4\n"
            b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
            b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj\n"
            + f"4 0 obj << /Length {len(stream)} >> stream\n".encode("ascii") + stream
            + b"\nendstream endobj\n")
    if padding:
        body += b"%" + b"x" * padding + b"\n"
    return body + b"trailer << /Root 1 0 R >>\n%%EOF\n"


CAMERA = "AppareilDeTest-GPS"


def image_bytes(fmt: str = "JPEG", with_metadata: bool = True, size=(64, 48)) -> bytes:
    """A small image; with its EXIF: the camera's make and a GPS position."""
    from PIL import Image

    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    kwargs = {}
    if with_metadata:
        exif = Image.Exif()
        exif[0x010F] = CAMERA            # Make
        exif[0x0110] = "ModeleTest"      # Model
        gps = {1: "N", 2: (44.0, 56.0, 0.0), 3: "E", 4: (4.0, 53.0, 0.0)}
        exif[0x8825] = gps               # GPSInfo
        kwargs["exif"] = exif.tobytes()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()
