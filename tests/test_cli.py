from openrsp import __version__


def test_version(cli):
    result = cli("version", check=True)
    assert result.stdout.strip() == __version__


def test_unknown_command_is_a_usage_error_without_traceback(cli):
    result = cli("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
