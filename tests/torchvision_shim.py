"""torchvision's model definitions as test references (random initialisation, nothing downloaded).

The torchvision build that pairs with torch 2.13 here is a CUDA one: its compiled operators do not
load against the CPU build of torch, and ``import torchvision`` fails while registering them in
``torchvision._meta_registrations``. The model definitions are pure Python and need none of those
operators, so an empty module stands in for that one before the import. Test-only: nothing in
``dlstudio`` imports torchvision.
"""

from __future__ import annotations

import sys
import types

import pytest


def import_torchvision_models():
    """``torchvision.models``, or skip the test when torchvision is not installed."""
    name = "torchvision._meta_registrations"
    if "torchvision" not in sys.modules:
        sys.modules.setdefault(name, types.ModuleType(name))
    try:
        import torchvision.models as models
    except Exception as exc:  # not installed, or a build we cannot load at all
        pytest.skip(f"torchvision is not usable here ({type(exc).__name__}: {exc})")
    return models
