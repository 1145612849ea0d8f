"""The walls between the parts, read from the source with ast (docs/architecture.md, "Arrows").

- Roles (lpa, smdp, smds, euicc, network, lab) never import each other, except the one named driver:
  the LPA's in-process APDU driver opens a virtual eUICC. The front ends that wire parts together
  (cli, demo, device, lab, bench) may import any role.
- crypto imports nothing above it; es8 imports only crypto, asn1, profile and pki; rspserver (what
  both servers share: mutual authentication, framing, the ES12 client, storage helpers) imports no role.
Every import counts: at module level, inside functions, under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "openrsp"

ROLES = {"lpa", "smdp", "smds", "euicc", "network", "lab"}
FRONT_ENDS = {"cli", "demo", "device", "lab", "bench"}
BASE = {
    "errors",
    "hexutil",
    "status_codes",
    "private_files",
    "extras",
    "apdu",
}  # small shared helpers below every part
ALLOWED_ROLE_IMPORTS = {("openrsp.lpa.drivers.in_process", "euicc")}
ONLY_BELOW = {
    "crypto": {"crypto"} | BASE,
    "es8": {"es8", "crypto", "asn1", "profile", "pki"} | BASE,
    "rspserver": {"rspserver", "crypto", "asn1", "pki", "profile", "es8", "wire"} | BASE,
}
# Known exceptions, to be removed when the code is refactored, never added to lightly. None today:
# what the SM-DP+ and the SM-DS share lives in rspserver/.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Every openrsp module `source` imports, relative imports resolved."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from openrsp import euicc`
    return {name for name in found if name == "openrsp" or name.startswith("openrsp.")}


def part_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def violations(module: str, imports: set[str]) -> list[str]:
    """The rules broken by `module` importing `imports` (known exceptions included)."""
    part = part_of(module)
    found = []
    for target in sorted(imports):
        other = part_of(target)
        if other is None or other == part:
            continue
        if part in ONLY_BELOW and other not in ONLY_BELOW[part]:
            found.append(f"{module} imports {target}: {part} imports only {sorted(ONLY_BELOW[part])}")
        if (
            part in ROLES
            and other in ROLES
            and part not in FRONT_ENDS
            and (module, other) not in ALLOWED_ROLE_IMPORTS
        ):
            found.append(f"{module} imports {target}: role {part} must not import role {other}")
    return found


def all_violations() -> list[tuple[str, str, str]]:
    """(importer part, imported part, message) over the whole source tree."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = module_name(path)
        imports = imported_modules(path.read_text(), module, path.name == "__init__.py")
        for message in violations(module, imports):
            target = message.split(" imports ", 1)[1].split(":", 1)[0]
            found.append((part_of(module) or "", part_of(target) or "", message))
    return found


def test_no_part_imports_across_the_walls():
    broken = [message for a, b, message in all_violations() if (a, b) not in KNOWN_EXCEPTIONS]
    assert broken == []


def test_every_known_exception_is_still_needed():
    # An exception the code no longer needs must leave the list, so the wall stands again.
    used = {(a, b) for a, b, _ in all_violations()}
    assert used >= KNOWN_EXCEPTIONS


def test_the_rules_catch_what_they_forbid():
    source = "from openrsp.smdp.es9plus import Es9Plus\nimport openrsp.euicc.store\n"
    smds = imported_modules(source, "openrsp.smds.es11.service", False)
    assert any(
        "role smds must not import role smdp" in m for m in violations("openrsp.smds.es11.service", smds)
    )
    lpa_core = imported_modules("from openrsp.euicc import store\n", "openrsp.lpa.core.lpd", False)
    assert violations("openrsp.lpa.core.lpd", lpa_core)
    assert not violations("openrsp.lpa.drivers.in_process", lpa_core)
    crypto = imported_modules("from ..asn1.tlv import encode_tlv\n", "openrsp.crypto.bsp", False)
    assert violations("openrsp.crypto.bsp", crypto)
    es8 = imported_modules("def f():\n    from openrsp.euicc.core import Euicc\n", "openrsp.es8.open", False)
    assert violations("openrsp.es8.open", es8)
    assert not violations("openrsp.cli.lpa", imported_modules(source, "openrsp.cli.lpa", False))
