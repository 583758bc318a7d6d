"""Refresh the web app's message catalogues: extract the template and Python strings, then merge
them into every language's ``messages.po`` (new strings arrive untranslated).

    python scripts/web_catalog.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parents[1] / "src" / "studyhall" / "web"
POT = WEB / "locales" / "messages.pot"


def main() -> None:
    pybabel = [sys.executable, "-m", "babel.messages.frontend"]
    subprocess.run(
        [
            *pybabel,
            "extract",
            "-F",
            str(WEB / "babel.cfg"),
            "-k",
            "N_",
            "--no-location",
            "--omit-header",
            "--sort-output",
            "-o",
            str(POT),
            str(WEB),
        ],
        check=True,
    )
    for po in sorted(WEB.glob("locales/*/LC_MESSAGES/messages.po")):
        subprocess.run(
            [
                *pybabel,
                "update",
                "-i",
                str(POT),
                "-o",
                str(po),
                "-l",
                po.parts[-3],
                "--no-fuzzy-matching",
                "--ignore-obsolete",
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
