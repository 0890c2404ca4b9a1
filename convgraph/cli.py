"""The ``convgraph`` command: argument parsing and friendly errors; the work happens in the library."""

import sys


def main(argv=None):
    print("convgraph: the command line arrives with issue 5", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
