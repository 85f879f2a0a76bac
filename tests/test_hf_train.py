"""``llmc train`` and the transformers back end, with real torch on the CPU and tiny models.

One fresh model is trained once per module (a few dozen steps on a dataset written
here, shaped like flag-tuning records) and shared by the tests that load it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from conftest import FIXTURES
from llmcompiler.cli import main  # noqa: E402
from llmcompiler.errors import ModelError  # noqa: E402
from llmcompiler.model.base import Candidate, GenerationConfig  # noqa: E402
from llmcompiler.pipeline import load_vocabulary, validate  # noqa: E402
from llmcompiler.program import load_program, program_from_ir  # noqa: E402
from llmcompiler.prompts import flag_tuning_answer, flag_tuning_prompt  # noqa: E402

LISTS = ["default<Oz>", "function(sroa,instcombine<no-verify-fixpoint>)", "globaldce"]
TINY = """\
layers = 2
heads = 2
hidden_size = 64
intermediate_size = 128
vocab_size = 400
context_length = 512
batch_size = 4
lr = 3e-3
min_lr = 1e-3
warmup_steps = 2
max_steps = 30
eval_interval = 10
device = "cpu"
"""


def small_ir(i: int) -> str:
    """A small module, different for every i."""
    return (
        f"; ModuleID = 'f{i}.c'\n"
        f'source_filename = "f{i}.c"\n\n'
        f"define i32 @f{i}(i32 %x) {{\n"
        f"entry:\n"
        f"  %a = add i32 %x, {i}\n"
        f"  %b = mul i32 %a, {i % 7 + 2}\n"
        f"  ret i32 %b\n"
        f"}}\n"
    )


def write_dataset(root: Path, n_train: int = 40, n_val: int = 6) -> Path:
    """A dataset directory like ``llmc dataset build`` writes (the fields training reads),
    with one train record too long for the context."""
    root.mkdir()

    def record(i: int) -> dict:
        ir = small_ir(i)
        answer = flag_tuning_answer(LISTS[i % len(LISTS)], 3, 64 + i % 5, ir)
        return {"task": "flag-tuning", "prompt": flag_tuning_prompt(ir), "completion": answer}

    train = [record(i) for i in range(n_train)]
    long_ir = "".join(small_ir(1000 + j) for j in range(30))
    train.append({"prompt": flag_tuning_prompt(long_ir), "completion": "x"})
    val = [record(500 + i) for i in range(n_val)]
    for name, rows in (("train", train), ("val", val)):
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = {"schema_version": 1, "kind": "llmcompiler-dataset", "task": "flag-tuning"}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(dataset dir, checkpoint dir, exit code) of one fresh training run."""
    base = tmp_path_factory.mktemp("train")
    data = write_dataset(base / "data")
    config = base / "tiny.toml"
    config.write_text(TINY)
    out = base / "ckpt"
    code = main(["train", "--data", str(data), "--config", str(config), "--out", str(out)])
    return data, out, code


@pytest.fixture(scope="module")
def hf_model(trained):
    from llmcompiler.model.hf import HFModel

    model = HFModel(trained[1], device="cpu")
    yield model
    model.close()


def test_train_writes_checkpoint_config_manifest_and_log(trained):
    data, out, code = trained
    assert code == 0
    for name in ("config.json", "model.safetensors", "tokenizer.json", "dataset_manifest.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "dataset_manifest.json").read_text()) == json.loads(
        (data / "manifest.json").read_text()
    )
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["config"]["layers"] == 2 and saved["config"]["max_steps"] == 30
    assert saved["data"]["train"] == {"records": 40, "dropped_over_context": 1}
    assert saved["data"]["val"]["records"] == 6
    assert saved["result"]["steps"] == 30
    log = [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == list(range(1, 31))
    assert set(log[0]) == {"step", "train_loss", "val_loss", "lr", "tokens_per_second", "seconds"}
    assert [row["step"] for row in log if row["val_loss"] is not None] == [10, 20, 30]
    first, last = log[0]["train_loss"], sum(r["train_loss"] for r in log[-3:]) / 3
    assert last < first * 0.6, (first, last)
    vals = [row["val_loss"] for row in log if row["val_loss"] is not None]
    assert vals[-1] < vals[0]


def test_labels_mask_the_prompt(trained):
    from transformers import AutoTokenizer

    from llmcompiler.training.train import IGNORE, collate, encode_example

    tokenizer = AutoTokenizer.from_pretrained(trained[1], local_files_only=True)
    prompt, completion = flag_tuning_prompt(small_ir(1)), "Run passes globaldce to get"
    ids, labels = encode_example(tokenizer, prompt, completion)
    n_prompt = len(tokenizer(prompt)["input_ids"])
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert labels[:n_prompt] == [IGNORE] * n_prompt
    assert labels[n_prompt:] == ids[n_prompt:] and len(ids) == len(labels)
    assert tokenizer.decode(ids[n_prompt:], skip_special_tokens=True) == completion
    batch = collate([(ids, labels), ([5, 6], [IGNORE, 6])], pad_id=tokenizer.pad_token_id)
    assert batch["input_ids"].shape == (2, len(ids))
    assert batch["labels"][1].tolist() == [IGNORE, 6] + [IGNORE] * (len(ids) - 2)
    assert batch["attention_mask"][1].tolist() == [1, 1] + [0] * (len(ids) - 2)


def test_hf_model_generates_k_answers(hf_model):
    prompt = flag_tuning_prompt(small_ir(7))
    assert hf_model.max_context == 512
    assert hf_model.count_tokens("add i32") > 0
    (greedy,) = hf_model.generate([prompt], GenerationConfig(k=1, max_new_tokens=24))
    assert len(greedy) == 1 and isinstance(greedy[0], str)
    (beams,) = hf_model.generate([prompt], GenerationConfig(k=3, max_new_tokens=12))
    assert len(beams) == 3
    sampled = GenerationConfig(k=2, sample=True, max_new_tokens=12, seed=5)
    once, twice = hf_model.generate([prompt, prompt], sampled)
    assert len(once) == 2 and once == twice
    assert hf_model.generate([prompt], sampled) == [once]


def test_prompt_over_the_context_gives_empty_answers(hf_model):
    huge = flag_tuning_prompt("".join(small_ir(j) for j in range(60)))
    assert hf_model.generate([huge], GenerationConfig(k=2, max_new_tokens=8)) == [["", ""]]


def test_loading_picks_hf_model_and_flag_tuner(trained, monkeypatch):
    from llmcompiler.model.flag_tuning import TextFlagTuner
    from llmcompiler.model.hf import HFModel
    from llmcompiler.model.loading import load_pass_list_model, load_text_model

    monkeypatch.delenv("LLMC_BACKEND", raising=False)
    text = load_text_model(str(trained[1]), device="cpu")
    assert isinstance(text, HFModel)
    text.close()
    tuner = load_pass_list_model(str(trained[1]), device="cpu")
    assert isinstance(tuner, TextFlagTuner)
    tuner.close()


def _check(candidates: list[Candidate], k: int) -> None:
    assert 1 <= len(candidates) <= k
    for c in candidates:
        if c.pipeline is None:
            assert c.error
        else:
            assert c.error is None
            validate(c.pipeline, load_vocabulary())


def test_flag_tuner_on_real_programs(hf_model):
    from llmcompiler.model.flag_tuning import TextFlagTuner

    tuner = TextFlagTuner(hf_model, max_new_tokens=40)
    small = program_from_ir(small_ir(3).encode(), "f3.ll")
    for k in (1, 3):
        _check(tuner.propose(small, k), k)
    loops = tuner.propose(load_program(FIXTURES / "loops.c"), 2)
    _check(loops, 2)
    assert loops[0].pipeline is None
    assert loops[0].error.startswith("prompt too long for the model's context (")
    assert loops[0].error.endswith(" tokens > 512)")


def test_lora_from_the_checkpoint(trained, tmp_path):
    pytest.importorskip("peft")
    from llmcompiler.model.hf import HFModel

    data, first, _ = trained
    config = tmp_path / "lora.json"
    config.write_text(json.dumps({"max_steps": 3, "batch_size": 4, "lora_rank": 4, "lr": 1e-3}))
    out = tmp_path / "lora"
    argv = ["train", "--data", str(data), "--config", str(config), "--out", str(out)]
    assert main([*argv, "--init", str(first), "--lora"]) == 0
    assert not (out / "adapter_config.json").exists()  # merged: a plain checkpoint
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["lora"] and saved["trainable_parameters"] < saved["parameters"]
    with HFModel(out, device="cpu") as model:
        (answers,) = model.generate([flag_tuning_prompt(small_ir(2))], GenerationConfig(k=2))
        assert len(answers) == 2


def test_bad_config_key_is_one_message(tmp_path, capsys):
    data = write_dataset(tmp_path / "data", n_train=2, n_val=0)
    config = tmp_path / "bad.toml"
    config.write_text("layers = 2\nbatchsize = 4\n")
    argv = ["train", "--data", str(data), "--config", str(config), "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"llmc: error: {config}: unknown config key 'batchsize' (did you mean 'batch_size'?)\n"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("layers = 'two'\n", "layers must be an integer, not 'two'"),
        ("lr = -1.0\n", "lr must be positive, not -1.0"),
        ("device = 'tpu'\n", "device must be auto, cpu or cuda, not 'tpu'"),
    ],
)
def test_bad_config_values(tmp_path, text, message):
    from llmcompiler.errors import InputError
    from llmcompiler.training.config import load_config

    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: {message}"


def test_bad_inputs(tmp_path, capsys):
    argv = ["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    assert (
        capsys.readouterr().err == f"llmc: error: {tmp_path / 'nope'}: no such dataset directory\n"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "manifest.json").write_text("{}")
    (empty / "train.jsonl").write_text("")
    assert main(["train", "--data", str(empty), "--out", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err == f"llmc: error: {empty / 'train.jsonl'}: no records\n"


def test_hf_model_load_errors(tmp_path, trained):
    from llmcompiler.model.hf import HFModel

    with pytest.raises(ModelError, match="no config.json"):
        HFModel(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in trained[1].iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelError, match=r"cannot load the model: "):
        HFModel(broken, device="cpu")


class _Scripted:
    """A text model that gives fixed answers (to test the tuner's parsing, not a model)."""

    name, max_context = "scripted", 100_000

    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def generate(self, prompts, config):
        self.asked.append((prompts, config))
        return [self.answers[: config.k] for _ in prompts]

    def count_tokens(self, text):
        return len(text) // 4

    def close(self):
        pass


def test_flag_tuner_validates_and_deduplicates():
    from llmcompiler.model.flag_tuning import TextFlagTuner, program_ir

    good = flag_tuning_answer("default<Oz>", 3, 64, "...")
    answers = [good, good, "no idea", "Run passes not-a-pass to get x", "no idea"]
    model = _Scripted(answers)
    program = program_from_ir(small_ir(3).encode(), "f3.ll")
    got = TextFlagTuner(model).propose(program, 5)
    assert [c.pipeline for c in got] == ["default<Oz>", None, None]
    assert got[0].predicted_size == 64
    assert got[1].error == "no pass list in the answer"
    assert got[2].error.startswith("invalid pass list")
    ((prompts, config),) = model.asked
    assert prompts == [flag_tuning_prompt(program_ir(program))]
    assert config.k == 5 and not config.sample
