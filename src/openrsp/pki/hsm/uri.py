"""RFC 7512 PKCS#11 URIs: which module, which token, which object, and where the PIN comes from.

    pkcs11:token=smdp;object=openrsp-smdp?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/pin

Path attributes (before `?`) are separated by `;`, query attributes by `&`; values are
percent-encoded. `pin-source` is a file (a path or a file: URI) whose first line is the PIN;
`pin-value` gives the PIN inline (convenient for tests, visible in process lists).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from openrsp.errors import InputError

SCHEME = "pkcs11:"
_PATH_ATTRIBUTES = {
    "token",
    "object",
    "manufacturer",
    "serial",
    "model",
    "library-manufacturer",
    "id",
    "type",
}
_QUERY_ATTRIBUTES = {"module-path", "module-name", "pin-source", "pin-value"}
MAX_URI_LENGTH = 4096


@dataclass(frozen=True)
class Pkcs11Uri:
    token: str | None
    object: str | None
    module_path: str
    pin_source: str | None = None
    pin_value: str | None = None
    serial: str | None = None

    def pin(self) -> str:
        """The user PIN: pin-value, else the first line of the pin-source file."""
        if self.pin_value is not None:
            return self.pin_value
        if self.pin_source is None:
            raise InputError("PKCS#11 URI: give pin-source=FILE or pin-value=PIN")
        source = self.pin_source
        if source.startswith("file:"):
            source = unquote(urlparse(source).path)
        try:
            text = Path(source).read_text()
        except OSError as exc:
            raise InputError(f"PKCS#11 PIN file {source}: {exc.strerror or exc}") from None
        lines = text.splitlines()
        return lines[0] if lines else ""

    def redacted(self) -> str:
        """The URI for messages and listings: the PIN value left out."""
        path = ";".join(
            f"{k}={v}"
            for k, v in (("token", self.token), ("serial", self.serial), ("object", self.object))
            if v
        )
        query = f"module-path={self.module_path}"
        if self.pin_source:
            query += f"&pin-source={self.pin_source}"
        elif self.pin_value is not None:
            query += "&pin-value=***"
        return f"{SCHEME}{path}?{query}"


def parse_pkcs11_uri(text: str) -> Pkcs11Uri:
    """Parse and check a PKCS#11 URI; InputError names what is wrong."""
    if len(text) > MAX_URI_LENGTH:
        raise InputError("PKCS#11 URI too long")
    if not text.startswith(SCHEME):
        raise InputError(f"not a PKCS#11 URI (must start with {SCHEME!r}): {text[:40]!r}")
    body = text[len(SCHEME) :]
    path, _, query = body.partition("?")
    attrs: dict[str, str] = {}
    for part, separator, known in ((path, ";", _PATH_ATTRIBUTES), (query, "&", _QUERY_ATTRIBUTES)):
        for item in filter(None, part.split(separator)):
            name, equals, value = item.partition("=")
            if not equals:
                raise InputError(f"PKCS#11 URI attribute without a value: {name!r}")
            if name not in known:
                raise InputError(f"PKCS#11 URI: unknown attribute {name!r}")
            if name in attrs:
                raise InputError(f"PKCS#11 URI: {name!r} given twice")
            attrs[name] = unquote(value)
    module = attrs.get("module-path")
    if not module:
        raise InputError("PKCS#11 URI: module-path=… (the token's PKCS#11 library) is required")
    if not attrs.get("token") and not attrs.get("serial"):
        raise InputError("PKCS#11 URI: name the token (token=LABEL or serial=…)")
    if "pin-source" in attrs and "pin-value" in attrs:
        raise InputError("PKCS#11 URI: give pin-source or pin-value, not both")
    return Pkcs11Uri(
        token=attrs.get("token"),
        object=attrs.get("object"),
        module_path=module,
        pin_source=attrs.get("pin-source"),
        pin_value=attrs.get("pin-value"),
        serial=attrs.get("serial"),
    )
