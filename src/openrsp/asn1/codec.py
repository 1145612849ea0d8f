"""One DER codec per ASN.1 module, compiled once per process and cached on disk.

Compiling the SAIP module takes asn1tools a noticeable time, so the compiled form is pickled into
the user's cache folder, keyed by the module text and the asn1tools version: a changed module or
library recompiles by itself.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import asn1tools
import asn1tools.codecs.ber

from openrsp.asn1.der_check import check_der, check_der_prefix
from openrsp.asn1.der_guard import guard_spec
from openrsp.errors import OpenRSPError

_HERE = Path(__file__).resolve().parent


def _decode_object_identifier(data: bytes, offset: int, end_offset: int) -> str:
    """OBJECT IDENTIFIER contents to dotted text.

    asn1tools 0.169 splits the first subidentifier as (n // 40, n % 40) even when n >= 80, so
    2.999.10 (the SGP.26 SM-DP+ OID) decoded as 26.39.10. Arc 2 takes everything from 80 up.
    """
    arcs: list[int] = []
    value = 0
    for byte in data[offset:end_offset]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise asn1tools.DecodeError("empty OBJECT IDENTIFIER")
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return ".".join(str(arc) for arc in head + arcs[1:])


# The BER and DER ObjectIdentifier types look this function up in the ber module at call time.
asn1tools.codecs.ber.decode_object_identifier = _decode_object_identifier


class Asn1Error(OpenRSPError):
    """DER that does not decode, or a value that does not encode, as the named type."""


class Codec:
    """DER encode/decode for the types of one compiled module (values as asn1tools gives them).

    Every decode first passes the bytes through the DER structure check (der_check.py), and the
    decoders of the spec are guarded against asn1tools' SEQUENCE OF loop (der_guard.py).
    """

    def __init__(self, name: str, spec: Any) -> None:
        self.name = name
        self.spec = guard_spec(spec)

    def encode(self, type_name: str, value: Any) -> bytes:
        try:
            return self.spec.encode(type_name, value)
        except Exception as exc:  # asn1tools raises several unrelated exception types
            raise Asn1Error(f"cannot encode {type_name}: {exc}") from exc

    def decode(self, type_name: str, data: bytes) -> Any:
        try:
            check_der(data)
            return self.spec.decode(type_name, data)
        except Exception as exc:
            raise Asn1Error(f"malformed {type_name}: {exc}") from exc

    def decode_with_length(self, type_name: str, data: bytes) -> tuple[Any, int]:
        """Decode one value at the start of data; also return how many bytes it took."""
        try:
            # Only the first value goes to asn1tools, which copies all it is given.
            return self.spec.decode_with_length(type_name, data[: check_der_prefix(data)])
        except Exception as exc:
            raise Asn1Error(f"malformed {type_name}: {exc}") from exc

    def has_type(self, type_name: str) -> bool:
        return type_name in self.spec.types


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "openrsp"


def _compile(files: list[Path]) -> Any:
    sources = b"".join(f.read_bytes() for f in files)
    key = hashlib.sha256(sources + asn1tools.version.__version__.encode()).hexdigest()[:24]
    cache = _cache_dir() / f"asn1-{files[0].stem}-{key}.pickle"
    try:
        with cache.open("rb") as fh:
            return pickle.load(fh)
    except Exception:
        pass  # no cache yet, or an unreadable one: compile afresh
    spec = asn1tools.compile_files([str(f) for f in files], "der")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(spec, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except Exception:
        pass  # a read-only home only costs the next process a compile
    return spec


@functools.cache
def rsp() -> Codec:
    """SGP.22 RSPDefinitions (ES8+, ES9+, ES10a/b/c types) with the PKIX types they use."""
    return Codec("rsp", _compile(sorted((_HERE / "rsp").glob("*.asn"))))


@functools.cache
def saip() -> Codec:
    """SAIP 'eUICC Profile Package' PEDefinitions."""
    return Codec("saip", _compile(sorted((_HERE / "saip").glob("*.asn"))))
