"""Which sub-command groups the `openrsp` command has, in one place."""

import importlib

import typer

# (module under openrsp.cli, attribute, group name or None for a single command)
_GROUPS: list[tuple[str, str, str | None]] = [
    ("pki", "app", "pki"),
    ("aka", "aka", "aka"),
    ("euicc", "app", "euicc"),
    ("smdp", "app", "smdp"),
    ("smds", "app", "smds"),
    ("operator", "app", "operator"),
    ("lpa", "app", "lpa"),
    ("network", "app", "network"),
    ("demo", "demo", "demo"),
    ("device", "app", "device"),
    ("bench", "bench", "bench"),
    ("lab", "app", "lab"),
]


def register(app: typer.Typer) -> None:
    for module_name, attr, name in _GROUPS:
        module = importlib.import_module(f"openrsp.cli.{module_name}")
        target = getattr(module, attr)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
        else:
            app.command(name=name)(target)
