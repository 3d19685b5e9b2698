"""The training code of a script, as text: loss, metrics, optimizer, schedule, loop, checkpoints.

Each part mirrors one piece of ``dlstudio.train`` (``objectives``, ``optim``, ``update``,
``trainer``, ``evaluation``, the sampler's epoch order) operation for operation, so a script
run on the CPU repeats ``python -m dlstudio train`` step by step. Change one, change the other:
tests/train/test_experiment_parity.py compares them loss by loss.
"""

from __future__ import annotations

import json

from dlstudio.train.config import CLASS_LOSSES


def fill(text: str, **values: str) -> str:
    """``text`` with every ``@name@`` replaced by ``values[name]`` (already valid code)."""
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def loss_code(loss: str, ignore_index: int) -> str:
    """``compute_loss(output, target)`` for ``loss``, as ``dlstudio.train.objectives`` does it."""
    if loss in CLASS_LOSSES:
        function = "F.cross_entropy" if loss == "cross_entropy" else "F.nll_loss"
        what = "raw scores (logits)" if loss == "cross_entropy" else "log-probabilities"
        return fill(_CLASS_LOSS, function=function, what=what, ignore=repr(int(ignore_index)))
    function = "F.mse_loss" if loss == "mse" else "F.binary_cross_entropy_with_logits"
    return fill(_VALUE_LOSS, function=function, name=loss)


def metrics_code(loss: str, metric: str) -> str:
    """``metric_names(target)`` and ``batch_metrics(...)``, as ``objectives.metrics_for`` and
    ``MetricTracker`` count them."""
    if loss in CLASS_LOSSES:
        names = '["token_accuracy", "exact_match"] if target.dim() >= 2 else ["accuracy"]'
    elif loss == "bce_with_logits":
        names = '["accuracy"]'
    else:
        names = '["mae"]'
    return fill(_METRICS, names=names, metric=json.dumps(metric), loss=json.dumps(loss))


_CLASS_LOSS = '''\
IGNORE_INDEX = @ignore@  # targets with this value are skipped (padding)


def compute_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean loss of a batch on @what@; per time step too: (N, T, V) against (N, T)."""
    if output.dim() == target.dim() + 1 and output.dim() > 2:
        output, target = output.reshape(-1, output.shape[-1]), target.reshape(-1)
    return @function@(output.float(), target, ignore_index=IGNORE_INDEX)'''

_VALUE_LOSS = '''\
def compute_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean @name@ loss of a batch; (N, 1) against (N,) is the same values."""
    return @function@(output.float(), target.reshape(output.shape).float())'''

_METRICS = '''\
LOSS = @loss@


def metric_names(target: torch.Tensor) -> list[str]:
    """The metrics reported for these targets, the project's metric first."""
    names = @names@
    first = @metric@
    return [first, *(n for n in names if n != first)] if first in names else names


@torch.no_grad()
def batch_metrics(names: list[str], output: torch.Tensor, target: torch.Tensor) -> dict[str, Any]:
    """(sum, count) of each metric on one batch, as tensors: adding them up needs no wait for
    the device; the epoch's value is sum / count."""
    out = {}
    for name in names:
        if name == "mae":
            values = target.reshape(output.shape).float()
            out[name] = ((output.float() - values).abs().sum(), values.numel())
        elif LOSS == "bce_with_logits":
            values = target.reshape(output.shape).float()
            out[name] = (((output > 0) == (values > 0.5)).sum(), values.numel())
        elif name == "accuracy" and target.dim() == 1:
            out[name] = ((output.argmax(dim=-1) == target).sum(), target.numel())
        else:
            keep = target != IGNORE_INDEX
            right = (output.argmax(dim=-1) == target) & keep
            if name == "exact_match":  # a sequence counts only when every real token is right
                whole = (right | ~keep).reshape(target.shape[0], -1).all(dim=1)
                out[name] = (whole.sum(), target.shape[0])
            else:
                out[name] = (right.sum(), keep.sum())
    return out'''

OPTIM = '''\
def make_optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    """SGD (with momentum), Adam or AdamW over the trainable parameters (frozen ones stay out)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if settings.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay
        )
    optimizer = torch.optim.AdamW if settings.optimizer == "adamw" else torch.optim.Adam
    return optimizer(params, lr=settings.lr, weight_decay=settings.weight_decay)


def lr_factor(settings: TrainSettings, steps_per_epoch: int) -> Callable[[int], float]:
    """The learning rate at step s is lr * factor(s): the warm-up, then the schedule."""
    total = max(1, settings.epochs * steps_per_epoch)
    warmup, schedule = settings.warmup_steps, settings.schedule
    step_size = (settings.step_size or max(1, settings.epochs // 3)) * steps_per_epoch

    def factor(step: int) -> float:
        if schedule == "onecycle":  # rise from lr/25 over the warm-up, then a cosine fall
            rise = warmup or max(1, int(0.3 * total))
            if step < rise:
                return 1 / 25 + (1 - 1 / 25) * step / rise
            progress = min(1.0, (step - rise) / max(1, total - rise))
            low = 1 / 25e4
            return low + (1 - low) * 0.5 * (1 + math.cos(math.pi * progress))
        if step < warmup:
            return (step + 1) / warmup
        if schedule == "step":
            return settings.gamma ** ((step - warmup) // step_size)
        if schedule == "cosine":
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.5 * (1 + math.cos(math.pi * progress))
        return 1.0

    return factor'''

RUNNING = '''\
def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, as DL Studio does before training."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The order of the n training samples in an epoch: the same for the same seed."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


def choose_device(name: str) -> torch.device:
    """auto: CUDA, then Apple MPS, then the CPU."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast_dtype(device: torch.device, setting: str) -> torch.dtype | None:
    """Mixed precision on CUDA only: bf16 where the GPU has it, else fp16 (with loss scaling)."""
    if device.type != "cuda" or setting == "off":
        return None
    if setting == "bf16" or (setting == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


def run_model(
    model: nn.Module, inputs: tuple[torch.Tensor, ...], dtype: torch.dtype | None
) -> torch.Tensor:
    """The model's trained output (the first one when it has several)."""
    with torch.autocast("cuda", dtype=dtype, enabled=dtype is not None):
        output = model(*inputs)
    return output[0] if isinstance(output, tuple | list) else output


@torch.no_grad()
def evaluate(
    model: nn.Module, split: DataSplit, settings: TrainSettings, device: torch.device
) -> dict[str, float]:
    """Loss and metrics on a split, in eval mode."""
    model.eval()
    dtype = autocast_dtype(device, settings.mixed_precision)
    names = metric_names(split.target)
    batch = max(256, 4 * settings.batch_size)
    loss_sum: torch.Tensor | float = 0.0
    sums: dict[str, list[Any]] = {name: [0, 0] for name in names}
    for start in range(0, len(split), batch):
        inputs = tuple(x[start : start + batch].to(device) for x in split.inputs)
        target = split.target[start : start + batch].to(device)
        output = run_model(model, inputs, dtype)
        loss_sum = loss_sum + compute_loss(output, target) * len(target)
        for name, (total, count) in batch_metrics(names, output, target).items():
            sums[name][0] = sums[name][0] + total
            sums[name][1] = sums[name][1] + count
    model.train()
    return {"loss": float(loss_sum) / max(1, len(split)), **ratios(sums)}


def ratios(sums: dict[str, list[Any]]) -> dict[str, float]:
    """Each metric's sum / count, read back from the device."""
    out = {}
    for name, (total, count) in sums.items():
        out[name] = float(total) / float(count) if float(count) else math.nan
    return out


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint whole or not at all (a temporary file, then a rename)."""
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)'''

TRAIN = '''\
def train(settings: TrainSettings) -> nn.Module:
    """Train the model with the settings; metrics go to OUT/metrics.jsonl, the checkpoint of
    the last epoch to OUT/checkpoint.pt, the final weights to OUT/weights.pt."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    if settings.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    train_split, val_split = load_data(settings)
@padding_call@    torch.manual_seed(settings.seed)  # the initial weights depend on the seed alone
    model = @model@()
@freeze@    seed_everything(settings.seed)
    device = choose_device(settings.device)
    model.to(device)
    optimizer = make_optimizer(model, settings)
    steps_per_epoch = math.ceil(len(train_split) / settings.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(settings, steps_per_epoch))
    scheduled = settings.schedule != "none" or settings.warmup_steps > 0
    dtype = autocast_dtype(device, settings.mixed_precision)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    net = torch.compile(model) if settings.compile else model
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    log = (out / "metrics.jsonl").open("a", encoding="utf-8")
    start_epoch, step, best_loss, bad_epochs, best_state = 0, 0, math.inf, 0, None
    if settings.resume:
        state = torch.load(settings.resume, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch, step = state["epoch"], state["step"]
        best_loss, bad_epochs = state["best_loss"], state["bad_epochs"]
    names = metric_names(train_split.target)
    for epoch in range(start_epoch, settings.epochs):
        net.train()
@hold@        order = epoch_order(len(train_split), settings.seed, epoch)
        losses: list[torch.Tensor] = []
        sums: dict[str, list[Any]] = {name: [0, 0] for name in names}
        for position in range(0, len(train_split), settings.batch_size):
            index = order[position : position + settings.batch_size]
            inputs = tuple(x[index].to(device) for x in train_split.inputs)
            target = train_split.target[index].to(device)
            output = run_model(net, inputs, dtype)
            loss = compute_loss(output, target)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if settings.grad_clip > 0:
                scaler.unscale_(optimizer)
                params = optimizer.param_groups[0]["params"]
                torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            if scheduled:
                scheduler.step()
            step += 1
            losses.append(loss.detach())  # read back only every log_every steps
            for name, (total, count) in batch_metrics(names, output.detach(), target).items():
                sums[name][0] = sums[name][0] + total
                sums[name][1] = sums[name][1] + count
            if settings.log_every and step % settings.log_every == 0:
                shown = float(loss.detach())
                print(f"epoch {epoch + 1}/{settings.epochs} step {step} loss {shown:.4f}")
        values = torch.stack(losses).float().tolist()
        first = step - len(values)
        for offset, value in enumerate(values):
            if not math.isfinite(value):
                raise SystemExit(f"the loss became {value} at step {first + offset + 1}; lower lr")
            record = {"event": "step", "step": first + offset + 1, "epoch": epoch + 1}
            log.write(json.dumps(record | {"loss": value}) + "\\n")
        train_metrics = {"loss": sum(values) / len(values)}
        train_metrics |= ratios(sums)
        val_metrics = evaluate(model, val_split, settings, device) if val_split else {}
        record = {"event": "epoch", "epoch": epoch + 1, "step": step}
        log.write(json.dumps(record | {"train": train_metrics, "val": val_metrics}) + "\\n")
        log.flush()
        shown = [f"train {k} {v:.4f}" for k, v in train_metrics.items()]
        shown += [f"val {k} {v:.4f}" for k, v in val_metrics.items()]
        print(f"epoch {epoch + 1}/{settings.epochs}: {', '.join(shown)}")
        score = (val_metrics or train_metrics)["loss"]
        if score < best_loss:
            best_loss, bad_epochs = score, 0
            if settings.early_stopping_patience:
                best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
        checkpoint = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "epoch": epoch + 1,
            "step": step,
            "best_loss": best_loss,
            "bad_epochs": bad_epochs,
        }
        save_checkpoint(out / "checkpoint.pt", checkpoint)
        if settings.early_stopping_patience and bad_epochs >= settings.early_stopping_patience:
            print(f"early stopping: no lower loss for {bad_epochs} epochs; best weights kept")
            if best_state is not None:
                model.load_state_dict(best_state)
            break
    log.close()
    torch.save(model.state_dict(), out / "weights.pt")
    print(f"weights: {out / 'weights.pt'}")
    return model'''

PADDING = '''\
PADDING = @padding@
"""(input position, padding id): the output carries this input's padding mask, so targets at
padded steps are skipped by the loss and the metrics."""


def ignore_padded_targets(split: DataSplit | None) -> DataSplit | None:
    """The split with the targets at padded steps set to IGNORE_INDEX."""
    position, pad = PADDING
    if split is None or split.target.is_floating_point():
        return split
    if split.inputs[position].shape != split.target.shape:
        return split
    target = split.target.masked_fill(split.inputs[position] == pad, IGNORE_INDEX)
    return DataSplit(split.inputs, target)'''
