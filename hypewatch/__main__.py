"""`python -m hypewatch` and the `hypewatch` console script."""

import sys

from hypewatch.cli import main


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
