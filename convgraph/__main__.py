"""``python -m convgraph``: the same as the ``convgraph`` command."""

import sys

from .cli import main

if __name__ == "__main__":  # guarded so that pytest's doctest collection can import this module
    sys.exit(main())
