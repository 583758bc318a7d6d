"""Print the app's OpenAPI document (what ``/openapi.json`` serves) without starting a server.

python scripts/openapi_document.py > openapi.json
"""

from __future__ import annotations

import json
import sys

from studyhall.app import create_app
from studyhall.config import Settings


def main() -> None:
    app = create_app(Settings(_env_file=None, environment="test"))  # type: ignore[call-arg]
    json.dump(app.openapi(), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
