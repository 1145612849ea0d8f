"""Activation codes from QR code images (the `[qr]` extra: zxing-cpp and Pillow).

Reading a file is input, not LPA logic: the parsing itself is lpa.core.activation_code's.
"""

from __future__ import annotations

from pathlib import Path

from openrsp.extras import require
from openrsp.lpa.core.activation_code import ActivationCode, parse_activation_code
from openrsp.lpa.core.errors import LpaInputError


def read_qr_text(image_path: Path | str) -> str:
    """The text of the first QR code in an image file (PNG, JPEG, ... anything Pillow opens)."""
    zxingcpp = require("zxingcpp", "qr", "reading a QR code image")
    pil = require("PIL.Image", "qr", "reading a QR code image")
    Image, UnidentifiedImageError = pil, pil.UnidentifiedImageError

    path = Path(image_path)
    try:
        with Image.open(path) as image:
            image.load()
            results = zxingcpp.read_barcodes(image.convert("L"))
    except FileNotFoundError:
        raise LpaInputError(f"QR image {path} does not exist", step="qr") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise LpaInputError(f"cannot read {path} as an image: {exc}", step="qr") from None
    texts = [r.text for r in results if r.text]  # the parser decides whether it is an activation code
    if not texts:
        raise LpaInputError(f"no QR code found in {path}", step="qr")
    return texts[0]


def activation_code_from_qr(image_path: Path | str) -> ActivationCode:
    return parse_activation_code(read_qr_text(image_path))
