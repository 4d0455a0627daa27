"""Every user error on the command line: a message, no traceback, a non-zero exit (DESIGN.md)."""

import subprocess
import sys

import pytest

from cryoctl.cli import main

USAGE_ERRORS = [
    ["nosuchcmd"],                                           # unknown command
    ["compare"],                                             # missing argument
    ["profile", "show", "cryo_cmos_6bit", "--bogus"],        # unknown option
    ["dac", "characterize", "cryo_cmos_6bit", "--channel", "abc"],  # wrong type
    ["train", "--epochs", "abc"],
    ["cache", "prune", "--older-than", "abc"],
    ["cache", "list", "--bogus"],
]


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=lambda a: " ".join(a))
def test_usage_errors_exit_2_without_traceback(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Error:" in err and "Traceback" not in err


def test_usage_error_in_a_real_process_has_no_traceback():
    """The console script path (sys.exit(main())) too: exit status 2, no traceback on stderr."""
    r = subprocess.run([sys.executable, "-c", "from cryoctl.cli import _console_main; _console_main()",
                        "profile", "show"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "Missing argument" in r.stderr


def test_os_errors_on_user_paths_are_one_line(tmp_path, capsys):
    """An output path of the wrong kind (a file where a directory is needed, a directory where a file
    is written) is reported with the path, exit 2, no traceback."""
    afile = tmp_path / "taken.json"
    afile.write_text("{}")
    assert main(["profile", "schema", "-o", str(tmp_path)]) == 2  # a directory where a file goes
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    assert main(["dac", "characterize", "cryo_cmos_4bit", "-o", str(afile)]) == 2  # a file where a dir goes
    err = capsys.readouterr().err
    assert str(afile) in err and "Traceback" not in err
