"""``python -m dlstudio``: the command line."""

from __future__ import annotations

import sys

INTERRUPTED = "interrupted (Ctrl-C); nothing more was written"

if __name__ == "__main__":
    try:
        from dlstudio.cli import main
    except KeyboardInterrupt:  # Ctrl-C while the program is still loading
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
