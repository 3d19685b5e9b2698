"""One ``nn.Module`` class per block definition, the way torchvision's ``resnet.py`` reads.

Each use of a definition (an instance copy, with its parameter values and its own analysis) is
rendered into a class body. Values that come from block parameters are written as those
parameters (``nn.Conv2d(in_channels, channels, ...)``), including sizes the analysis inferred
from the inputs when a block parameter always equals them. Uses whose bodies come out the same
share one class; a definition that needs two bodies (say, a parameter that changes the code's
structure) gets a second class with a numbered name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from dlstudio.analysis import AnalysisResult, NodeInfo
from dlstudio.compile.codegen.block_text import class_text, is_numbered_chain, is_numbered_list
from dlstudio.compile.codegen.block_values import (
    ValueWriter,
    default_breaking_name,
    dim_name,
    inferred_sources,
)
from dlstudio.compile.codegen.names import NameAllocator, class_name, module_ref
from dlstudio.compile.codegen.plan import ForwardPlan, plan_forward
from dlstudio.compile.emitters import Emission, lit
from dlstudio.core.blocks import BLOCK_TYPE, RESERVED_KEYS, BlockDefinition, definition_order
from dlstudio.core.expressions import Expr, Num, is_expression, parse
from dlstudio.core.graph import LayerGraph, LayerNode
from dlstudio.core.source import parse_source


@dataclass
class _Use:
    """One copy of one instance: the definition analysed with these values."""

    definition: BlockDefinition
    values: dict[str, Any]
    analysis: AnalysisResult
    sites: set[tuple[str | None, str]] = field(default_factory=set)
    """Where instances with this analysis are drawn: (the definition holding it or None, the
    node id)."""
    repeat: int = 1
    class_name: str = ""


@dataclass
class _Class:
    name: str
    definition: BlockDefinition
    body_key: tuple[str | None, ...]
    uses: list[_Use] = field(default_factory=list)
    source: str = ""
    helpers: list[str] = field(default_factory=list)
    step_lines: dict[int, str] = field(default_factory=dict)
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BlockCode:
    """Where a block class puts its definition's inner nodes (for tools that read the module
    one inner layer at a time, such as the lens)."""

    class_name: str
    """The class in the source; an inlined chain has no class (its instances are a plain
    ``nn.Sequential``)."""
    definition: str
    attrs: dict[str, str]
    """Inner node id -> the submodule attribute (``"0"``, ``"1"``... in a chain)."""
    lines: dict[int, str]
    """forward() line -> inner node id: 0-based in the class text here, 1-based in the whole
    source in :class:`~dlstudio.compile.codegen.GeneratedCode`. Empty for a chain."""
    chain: bool
    """An ``nn.Sequential`` of the inner layers, in their order."""
    inline: bool = False
    """Written where it is used, ``nn.Sequential(...)``, not as a class."""


class BlockClasses:
    """The block classes a model needs, and each instance's constructor call."""

    def __init__(self, root: LayerGraph, analysis: AnalysisResult, taken: set[str]) -> None:
        self.root = root
        self._allocator = NameAllocator(taken)
        self._classes: list[_Class] = []
        self._by_analysis: dict[int, _Use] = {}
        uses = list(_collect_uses(root, analysis))
        self._inferred_sources = inferred_sources(uses)
        for use in uses:  # nested definitions come first: _collect_uses is post-order
            self._assign(use)
        self._classes = _dependency_order(self._classes)
        self._inline = {cls.name for cls in self._classes if self._inlinable(cls)}
        for cls in self._classes:
            cls.source, cls.helpers = self._render(cls)
        self._config_params: dict[str, dict[str, str]] = {}
        self._config_repeats: dict[str, str] = {}
        self._init_names: dict[str, set[str]] = {}

    def read_from_config(self, params: dict[str, dict[str, str]], repeats: dict[str, str]) -> None:
        """Let the model's own instances take these block parameters (instance node id ->
        {parameter -> config field}) and repeat counts from the model's ``config``."""
        self._config_params = params
        self._config_repeats = repeats

    def reads_parameter(self, info: NodeInfo, name: str) -> bool:
        """Whether the class of every copy of an instance builds something from block parameter
        ``name`` (in ``__init__``; a parameter that only chose the class body is not read)."""
        for sub in info.children:
            use = self._by_analysis[id(sub)]
            cls = next(c for c in self._classes if c.name == use.class_name)
            if cls.name in self._inline:
                return False
            if cls.name not in self._init_names:
                self._init_names[cls.name] = _init_names(cls.source)
            if name not in self._init_names[cls.name]:
                return False
        return True

    # ----------------------------------------------------------------- public
    @property
    def sources(self) -> list[str]:
        """The class definitions, each after the classes it uses."""
        return [cls.source for cls in self._classes if cls.name not in self._inline]

    @property
    def codes(self) -> list[BlockCode]:
        """Each class's inner layout, in source order (inlined chains last)."""
        codes = []
        for cls in self._classes:
            inline = cls.name in self._inline
            chain = inline or not cls.step_lines
            codes.append(
                BlockCode(
                    cls.name,
                    cls.definition.name,
                    dict(cls.attrs),
                    dict(cls.step_lines),
                    chain,
                    inline,
                )
            )
        return sorted(codes, key=lambda code: code.inline)

    @property
    def helpers(self) -> list[str]:
        """Helper classes the block classes need."""
        names: list[str] = []
        for cls in self._classes:
            names += [h for h in cls.helpers if h not in names]
        return names

    def emit(self, node: LayerNode, info: NodeInfo, args: dict[str, str], attr: str) -> Emission:
        """The emission of an instance node: its constructor and its call in forward()."""
        definition = self.root.blocks[info.params["block"]]
        uses = [self._by_analysis[id(sub)] for sub in info.children]
        if len(uses) == 1 and uses[0].class_name in getattr(self, "_inline", ()):
            module, helpers = self._inline_chain(uses[0], node.params)
            ins = [args[p] for p in definition.input_ports() if p in args]
            return Emission(f"{module_ref(attr)}({', '.join(ins)})", module, ("out",), helpers)
        top = self.root.nodes.get(node.id) is node
        wired = self._config_params.get(node.id, {}) if top else {}
        calls = [self._constructor(use, node.params, wired) for use in uses]
        repeat = self._config_repeats.get(node.id) if top else None
        if repeat is not None:
            module = f"nn.Sequential(*[{calls[0]} for _ in range(config.{repeat})])"
        elif len(calls) == 1 and info.params["repeat"] == 1:
            module = calls[0]
        elif len(set(calls)) == 1 and len(calls) > 2:
            module = f"nn.Sequential(*[{calls[0]} for _ in range({len(calls)})])"
        else:
            module = f"nn.Sequential({', '.join(calls)})"
        ins = [args[p] for p in definition.input_ports() if p in args]
        call = f"{module_ref(attr)}({', '.join(ins)})"
        return Emission(call, module, tuple(definition.output_ports()))

    # --------------------------------------------------------------- classes
    def _assign(self, use: _Use) -> None:
        known = self._by_analysis.get(id(use.analysis))
        if known is not None:
            known.sites |= use.sites
            known.repeat = max(known.repeat, use.repeat)
            return
        key, _ = self._render_body(use)
        for cls in self._classes:
            if cls.definition is use.definition and _compatible(cls.body_key, key):
                cls.body_key = tuple(
                    a if a is not None else b for a, b in zip(cls.body_key, key, strict=True)
                )
                break
        else:
            cls = _Class(
                self._allocator.allocate(class_name(use.definition.name), "Block"),
                use.definition,
                key,
            )
            self._classes.append(cls)
        cls.uses.append(use)
        use.class_name = cls.name
        self._by_analysis[id(use.analysis)] = use

    def _inlinable(self, cls: _Class) -> bool:
        """A numbered chain of layers drawn in one place only, inside another block, every layer
        trainable, is written where it is used, ``nn.Sequential(nn.Conv2d(...), ...)``, as
        torchvision writes its downsample, rather than as a class of its own."""
        if sum(c.definition is cls.definition for c in self._classes) != 1:
            return False
        sites = set().union(*(u.sites for u in cls.uses))
        if len(sites) != 1 or next(iter(sites))[0] is None or any(u.repeat != 1 for u in cls.uses):
            return False  # drawn in the model itself: the user's block keeps its class
        graph = cls.definition.graph
        if not all(node.trainable and node.type_id != BLOCK_TYPE for node in graph):
            return False  # frozen layers and blocks inside keep the class
        return is_numbered_chain(graph, self._class_plan(cls))

    def _inline_chain(self, use: _Use, raw: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        """``nn.Sequential(...)`` of an inlined chain, its values in the caller's terms."""
        values: dict[str, Expr | str] = {}
        for p in use.definition.params:
            given = raw.get(p.name)
            value = use.values[p.name]
            if is_expression(given):
                values[p.name] = parse(str(given))
            elif type(value) is int:
                values[p.name] = Num(value)
            else:
                values[p.name] = lit(value)
        _, plan = self._render_body(use, values)
        modules = [step.emission.module or "" for step in plan.steps]
        helpers: list[str] = []
        for step in plan.steps:
            helpers += [h for h in step.emission.helpers if h not in helpers]
        return f"nn.Sequential({', '.join(modules)})", tuple(helpers)

    def _constructor(
        self, use: _Use, raw: dict[str, Any], wired: dict[str, str] | None = None
    ) -> str:
        """``BasicBlock(channels=128)``: the values that differ from the block's defaults;
        inside another block, values that come from its parameters are written as those,
        positionally while they pass a parameter on under its own name, as torchvision's
        ``block(inplanes, planes, stride)``; ``wired`` parameters come from the model's
        config (``d_model=config.d_model``)."""
        defaults = use.definition.defaults()
        args = []
        positional = True
        for name, value in use.values.items():
            if wired and name in wired:
                positional = False
                args.append(f"{name}=config.{wired[name]}")
                continue
            if is_expression(raw.get(name)):
                source = parse(raw[name]).source()
                positional = positional and source == name
                args.append(source if positional else f"{name}={source}")
                continue
            positional = False
            if value != defaults.get(name):
                args.append(f"{name}={lit(value)}")
        return f"{use.class_name}({', '.join(args)})"

    def _render(self, cls: _Class) -> tuple[str, list[str]]:
        plan = self._class_plan(cls)
        text, cls.step_lines = class_text(cls.name, cls.definition, plan, self._comments(cls, plan))
        graph = cls.definition.graph
        if is_numbered_chain(graph, plan) or is_numbered_list(graph, plan):
            cls.attrs = {step.node_id: str(i) for i, step in enumerate(plan.steps)}
        else:
            cls.attrs = {step.node_id: step.attr for step in plan.steps}
        helpers: list[str] = []
        for step in plan.steps:
            helpers += [h for h in step.emission.helpers if h not in helpers]
        return text, helpers

    def _class_plan(self, cls: _Class) -> ForwardPlan:
        """The first use's plan, with each conditional line taken from a use where its
        condition holds (where it holds in none: ``self.name = None`` and a pass-through)."""
        plans = [self._render_body(use)[1] for use in cls.uses]
        steps = list(plans[0].steps)
        for index, step in enumerate(steps):
            if step.enabled:
                continue
            enabled = next((p.steps[index] for p in plans if p.steps[index].enabled), None)
            if enabled is None:  # never there: the attribute is None, the input passes on
                enabled = replace(step, emission=replace(step.emission, module="None"))
            steps[index] = enabled
        return ForwardPlan(plans[0].args, steps, plans[0].returns)

    def _render_body(
        self, use: _Use, rename: dict[str, Expr | str] | None = None
    ) -> tuple[tuple[str | None, ...], ForwardPlan]:
        """The class body for one use without comments (the key that groups uses; a layer
        whose condition is false here is a wildcard) and its plan. ``rename`` writes the
        block's parameters as the caller's expressions (an inlined chain)."""
        graph = use.definition.graph
        # Block parameters are locals of __init__ only: attributes (self.dropout) and forward()
        # variables may share their names.
        allocator = NameAllocator(set())
        attrs = {}
        for node in graph:
            if node.name.isdigit() and node.type_id not in ("input", "output"):
                # A numbered layer keeps its number, so its keys are the source's (``0.weight``):
                # an nn.Sequential or nn.ModuleList item, or else a submodule registered with
                # add_module("0", ...) (vgg's features, whose ReLUs are function calls).
                attrs[node.id] = node.name
                allocator.reserve(node.name)
            elif node.name.isdigit():
                attrs[node.id] = allocator.allocate(f"layer_{node.name}", "layer")
            elif node.type_id == "input" and node.name == "x":
                # "x" is the chain's variable; an input that is needed again later (a skip
                # connection) is the block's identity, as torchvision's blocks call it.
                attrs[node.id] = allocator.allocate("identity", "x")
            else:
                submodule = node.type_id not in ("input", "output")
                attrs[node.id] = allocator.allocate(node.name, node.type_id, submodule)
        wrap = ValueWriter(self._inferred_sources.get(use.definition.name, {}), rename)
        plan = plan_forward(graph, use.analysis, attrs, allocator, self.emit, wrap)
        lines = (
            (
                f"{s.node_id}|{s.emission.module}|{s.emission.forward}|{s.targets}|"
                f"{graph.node(s.node_id).trainable}"
            )
            if s.enabled
            else None
            for s in plan.steps
        )
        key: tuple[str | None, ...] = (*lines, f"|{plan.args}|{plan.returns}")
        return key, plan

    def _comments(self, cls: _Class, plan: ForwardPlan) -> list[str]:
        """Shape comments true for every use of the class: sizes that differ between uses
        are written as the block parameter they equal, or as a letter."""
        comments = []
        for step in plan.steps:
            specs_by_use = [
                [u.analysis.nodes[step.node_id].outputs.get(p) for p in step.emission.outputs]
                for u in cls.uses
            ]
            parts = []
            for k, spec in enumerate(specs_by_use[0]):
                if spec is None:
                    continue
                dims = []
                for d, dim in enumerate(spec.shape):
                    values = {
                        s.shape[d] if (s := u[k]) is not None and len(s.shape) > d else None
                        for u in specs_by_use
                    }
                    if len(values) == 1:
                        named = default_breaking_name(cls.definition, cls.uses, dim)
                        dims.append(named or str(dim))
                    else:
                        dims.append(
                            dim_name(cls.definition, cls.uses, step.node_id, k, d, spec.rank)
                        )
                text = "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
                parts.append(text if spec.dtype == "float32" else f"{text} {spec.dtype}")
            comments.append(", ".join(parts))
        return comments


def _dependency_order(classes: list[_Class]) -> list[_Class]:
    """The classes with each after the classes of the definitions it uses (a class is
    created at its first use, which may not hold the optional blocks it can contain)."""
    blocks = {cls.definition.name: cls.definition for cls in classes}
    order = definition_order(blocks, list(blocks))
    return sorted(classes, key=lambda cls: order.index(cls.definition.name))


def _compatible(a: tuple[str | None, ...], b: tuple[str | None, ...]) -> bool:
    """Two class-body keys that one class can serve (None matches any line)."""
    return len(a) == len(b) and all(
        x is None or y is None or x == y for x, y in zip(a, b, strict=True)
    )


def _init_names(source: str) -> set[str]:
    """The names a class's ``__init__`` body reads (its signature left out)."""
    tree = parse_source(source)
    init = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    )
    return {n.id for statement in init.body for n in ast.walk(statement) if isinstance(n, ast.Name)}


def _collect_uses(root: LayerGraph, analysis: AnalysisResult) -> Iterator[_Use]:
    """Every copy of every instance in the tree, inner ones before the ones that hold them."""
    seen: set[int] = set()

    def walk(graph: LayerGraph, result: AnalysisResult, where: str | None) -> Iterator[_Use]:
        for node_id in result.order:
            node = graph.nodes.get(node_id)
            info = result.nodes.get(node_id)
            if node is None or info is None or node.type_id != BLOCK_TYPE:
                continue
            definition = root.blocks[info.params["block"]]
            values = {k: v for k, v in info.params.items() if k not in RESERVED_KEYS}
            for sub in info.children:
                if id(sub) not in seen:  # shared analyses are walked into once
                    seen.add(id(sub))
                    yield from walk(definition.graph, sub, definition.name)
                yield _Use(definition, values, sub, {(where, node_id)}, info.params["repeat"])

    yield from walk(root, analysis, None)
