"""Turning user-written node names into safe, unique, readable Python identifiers.

Names are the only user text that reaches generated code, so everything here is conservative:
ASCII letters, digits and underscores only, never a keyword, a builtin, a name the generated
module itself uses, or an attribute ``nn.Module`` already has (``forward``, ``training``).
"""

from __future__ import annotations

import builtins
import json
import keyword
import re
import unicodedata

from dlstudio.compile.codegen.format import wrap_call

MAX_IDENTIFIER = 40

# Public attributes and methods of an ``nn.Module`` instance (torch 2.x). Assigning a submodule
# to one of these would break the module; a test checks this list against the installed torch.
MODULE_ATTRIBUTES = frozenset(
    [
        "T_destination",
        "add_module",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "ipu",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
        # transformers, once imported, adds this method to every nn.Module
        "smart_apply",
    ]
)

# Names the generated file defines or imports at module level, and the locals of forward().
GENERATED_NAMES = frozenset(
    [
        "torch",
        "nn",
        "F",
        "math",
        "dataclass",
        "field",
        "self",
        "x",
        "config",
        "model",
        "inputs",
        "outputs",
        "example_inputs",
        "annotations",
    ]
)

RESERVED = (
    frozenset(keyword.kwlist)
    | frozenset(keyword.softkwlist)
    | frozenset(dir(builtins))
    | MODULE_ATTRIBUTES
    | GENERATED_NAMES
)


_PLAIN = re.compile(r"[A-Za-z][0-9A-Za-z]*(?:_[0-9A-Za-z]+)*")
"""An ASCII identifier starting with a letter, without doubled or outer underscores."""


def identifier_base(text: str, fallback: str) -> str:
    """``text`` reduced to a lowercase-preserving ASCII identifier, or ``fallback`` if nothing
    usable is left. Not yet unique or checked against reserved names."""
    if type(text) is str and len(text) <= MAX_IDENTIFIER and _PLAIN.fullmatch(text):
        return text  # already what _cleaned makes of it (names such as fc1, conv2_a)
    return _cleaned(text, fallback)


def _cleaned(text: str, fallback: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^0-9A-Za-z_]+", "_", ascii_text)
    cleaned = re.sub(r"_+", "_", cleaned).strip("_")[:MAX_IDENTIFIER].rstrip("_")
    if not cleaned:
        cleaned = fallback
    if cleaned[0].isdigit():
        cleaned = f"{fallback}_{cleaned}"
    return cleaned


def class_name(text: str, fallback: str = "Model") -> str:
    """A CamelCase class name from a graph name (``lenet-5 demo`` -> ``Lenet5Demo``)."""
    base = identifier_base(text, fallback)
    words = [w for w in base.split("_") if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or fallback
    if name[0].isdigit() or name in RESERVED or not name.isidentifier():
        name = fallback
    return name


ATTRIBUTE_ONLY = frozenset({"self"})
"""Reserved names a submodule may still have (``self.self``): forward() names its value
otherwise (:func:`variable_for`)."""


_KEY_NAME = re.compile(r"[A-Za-z_][0-9A-Za-z_]*(?:-[0-9A-Za-z_]+)+")
"""A module name that is not a Python identifier only for its hyphens (torchvision regnet's
``block1-0``): a submodule keeps it, so its ``state_dict`` keys are the source's."""


def is_key_name(text: str) -> bool:
    """True for a submodule name kept although not an identifier (see :data:`_KEY_NAME`)."""
    return type(text) is str and len(text) <= MAX_IDENTIFIER and bool(_KEY_NAME.fullmatch(text))


def _is_number(text: str) -> bool:
    return type(text) is str and len(text) <= MAX_IDENTIFIER and text.isascii() and text.isdigit()


def module_ref(attr: str) -> str:
    """How generated code reads the submodule ``attr``: ``self.conv1``, or
    ``getattr(self, "block1-0")`` for a name that is not an identifier."""
    return f"self.{attr}" if attr.isidentifier() else f"getattr(self, {json.dumps(attr)})"


def child_ref(name: str) -> str:
    """The text that reads submodule ``name`` from a module expression: ``.conv1``, or
    ``.get_submodule("0")`` for a name that is not an identifier (a numbered layer may be an
    ``nn.Sequential`` item or a submodule registered with ``add_module``: this reads both)."""
    return f".{name}" if name.isidentifier() else f".get_submodule({json.dumps(name)})"


def assignment_lines(indent: str, attr: str, module: str) -> list[str]:
    """``self.<attr> = <module>``, wrapped, or ``self.add_module("block1-0", <module>)`` for a
    name that is not an identifier."""
    if attr.isidentifier():
        return wrap_call(f"{indent}self.{attr} = ", module)
    return wrap_call(indent, f"self.add_module({json.dumps(attr)}, {module})")


def variable_for(attr: str, allocator: NameAllocator) -> str:
    """The forward() variable holding a layer's output: its attribute name, unless that is one
    of :data:`ATTRIBUTE_ONLY` or not an identifier (``block1-0`` -> ``block1_0``, ``0`` ->
    ``layer_0``)."""
    if attr in ATTRIBUTE_ONLY:
        return allocator.allocate(f"{attr}_out", "out")
    if attr.isdigit():  # a numbered layer of a block: layer_0
        return allocator.allocate(f"layer_{attr}", "layer")
    return attr if attr.isidentifier() else allocator.allocate(attr, "out")


class NameAllocator:
    """Hands out unique identifiers, never reserved ones; ``taken`` seeds the used set."""

    def __init__(self, taken: set[str] | frozenset[str] = frozenset()) -> None:
        self._used: set[str] = set(taken)

    def allocate(self, text: str, fallback: str, attribute: bool = False) -> str:
        """A fresh identifier close to ``text``: ``relu``, then ``relu_2``; ``input`` -> ``input_``.

        With ``attribute`` (a submodule's name, never a variable) the names of
        :data:`ATTRIBUTE_ONLY` are kept (Hugging Face's ``attention.self``), and so are names
        that only their hyphens keep from being identifiers (regnet's ``block1-0``), and
        numbers (an ``nn.Sequential`` model's ``0``): the source's keys."""
        if attribute and (is_key_name(text) or _is_number(text)) and text not in self._used:
            self._used.add(text)
            return text
        base = identifier_base(text, identifier_base(fallback, "layer"))
        if attribute and base in ATTRIBUTE_ONLY and base not in self._used:
            self._used.add(base)
            return base
        candidate = base if base not in RESERVED else f"{base}_"
        suffix = 2
        while candidate in self._used or candidate in RESERVED or not candidate.isidentifier():
            candidate = f"{base}_{suffix}"
            suffix += 1
        self._used.add(candidate)
        return candidate

    def reserve(self, name: str) -> None:
        """Mark ``name`` as used."""
        self._used.add(name)


_COMMENT_SAFE = re.compile(r"[^0-9A-Za-z_ ,.;()+\-*/:=<>\[\]']")


def comment_text(text: str) -> str:
    """Text made safe for a ``#`` comment or a docstring: one line, no quotes or backslashes."""
    return _COMMENT_SAFE.sub("?", str(text))[:200]
