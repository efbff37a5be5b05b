"""Entry point: ``python -m durafn_worker``."""

import sys

from .worker import main

if __name__ == "__main__":
    sys.exit(main())
