"""DL Studio: ``python main.py [FILE]`` opens FILE, or the LeNet-5 template as a new model."""

from __future__ import annotations

import sys

from dlstudio.gui.app import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
