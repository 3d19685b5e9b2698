"""The runnable tail of a generated model file: ``example_inputs()`` and the ``__main__``
smoke test, with the config fields that name sequence lengths and vocabulary sizes."""

from __future__ import annotations

from dlstudio.compile.codegen.format import INDENT, signature_lines
from dlstudio.compile.codegen.inputs import InputDescription
from dlstudio.compile.codegen.names import NameAllocator
from dlstudio.compile.emitters import lit


def symbol_fields_of(inputs: list[InputDescription]) -> dict[str, str]:
    """The config field of each sequence-length symbol (``seq_len`` when there is one)."""
    symbols: list[str] = []
    for description in inputs:
        symbols += [s for s in description.symbols if s not in symbols]
    if len(symbols) == 1:
        return {symbols[0]: "seq_len"}
    allocator = NameAllocator({"batch_size"})
    return {s: allocator.allocate(f"seq_len_{s.lower()}", "seq_len") for s in symbols}


def vocab_fields_of(inputs: list[InputDescription]) -> dict[str, str]:
    """The config field of each token input's vocabulary size."""
    tokens = [i for i in inputs if i.vocab is not None]
    if len(tokens) == 1:
        return {tokens[0].name: "vocab_size"}
    return {i.name: f"{i.name}_vocab_size" for i in tokens}


def return_lines(indent: str, names: list[str]) -> list[str]:
    """``return a, b``; a tuple too long for one line in parentheses, as ruff format writes it."""
    one = f"{indent}return {', '.join(names)}"
    if len(one) <= 100 or len(names) < 2:
        return [one]
    return signature_lines(indent, "return ", names, "")


def example_inputs_text(
    config: str,
    inputs: list[InputDescription],
    symbol_fields: dict[str, str],
    vocab_fields: dict[str, str],
) -> str:
    """``example_inputs()``: random inputs of each Input's shape and dtype."""
    signature = f"config: {config}" if config else "batch_size: int = 2"
    doc = "Random inputs of the right shape and dtype"
    if any(i.vocab is not None for i in inputs):
        doc += " (token ids below the vocabulary size)"
    lines = [
        f"def example_inputs({signature}) -> tuple[torch.Tensor, ...]:",
        f'{INDENT}"""{doc}."""',
    ]
    for description in inputs:
        shape = description.spec.shape
        batched = bool(shape) and shape[0] == "N"
        dims = ["config.batch_size" if config else "batch_size"] if batched else []
        for dim in shape[1:] if batched else shape:
            dims.append(f"config.{symbol_fields[dim]}" if isinstance(dim, str) else lit(dim))
        size = f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
        dtype = description.spec.dtype
        if description.vocab is not None:
            high = f"config.{vocab_fields[description.name]}"
            value = f"torch.randint(0, {high}, {size})"
        elif dtype == "bool":
            value = f"torch.rand({size}) < 0.5"
        elif dtype != "float32" and not dtype.startswith("float"):
            value = f"torch.randint(0, 2, {size}, dtype=torch.{dtype})"
        elif dtype != "float32":
            value = f"torch.randn({size}, dtype=torch.{dtype})"
        else:
            value = f"torch.randn({', '.join(dims) or '()'})"
        lines.append(f"{INDENT}{description.name} = {value}")
        if description.padding_id is not None and len(dims) == 2:
            half = f"{dims[1]} // 2"
            lines.append(
                f"{INDENT}{description.name}[1:, {half} :] = {lit(description.padding_id)}"
                "  # the others end in padding"
            )
    names = [d.name for d in inputs]
    if len(names) == 1:
        lines.append(f"{INDENT}return ({names[0]},)")
    else:
        lines += return_lines(INDENT, names) if names else [f"{INDENT}return ()"]
    return "\n".join(lines)


def main_text(config: str, model: str, output_names: list[str]) -> str:
    """The ``__main__`` smoke test: build the model, run the example, print the shapes."""
    lines = [
        'if __name__ == "__main__":',
        f"{INDENT}model = {model}().eval()",
        f"{INDENT}with torch.no_grad():",
    ]
    example = f"example_inputs({config}())" if config else "example_inputs()"
    count = [
        f"{INDENT}params = sum(p.numel() for p in model.parameters())",
        f'{INDENT}print(f"{{type(model).__name__}}: {{params:,}} parameters")',
    ]
    if len(output_names) == 1:
        lines += [f"{INDENT * 2}output = model(*{example})", *count]
        lines.append(f'{INDENT}print("output", tuple(output.shape))')
    else:
        lines += [f"{INDENT * 2}outputs = model(*{example})", *count]
        names = ", ".join(f'"{name}"' for name in output_names)  # identifiers: safe to quote
        lines.append(f"{INDENT}for name, output in zip(({names}), outputs, strict=True):")
        lines.append(f"{INDENT * 2}print(name, tuple(output.shape))")
    return "\n".join(lines)
