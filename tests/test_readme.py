"""The README's command-line reference is the one the commands give (`make readme` writes it)."""

from pathlib import Path

from openrsp.cli.reference import command_reference, replace_reference

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_command_table_matches_the_commands():
    text = README.read_text()
    assert replace_reference(text, command_reference()) == text, "README is stale: run `make readme`"
