"""NQ-open data: the Hub / local-file switch, clear errors for bad files, lite subsets and the
fixed 3-shot exemplars. Offline: the Hub path is checked with a stand-in for load_dataset."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import pytest

from harness_tasks.data import ENV_VAR, DataError
from harness_tasks.subsets import seeded_indices
from harness_tasks.tasks.nq_open import utils


def dev_rows(data_dir: Path) -> list[dict]:
    path = data_dir / utils.DEV_FILE
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def copy_dev(tmp_path: Path, data_dir: Path, nrows: int = 5) -> Path:
    """A data directory holding the first ``nrows`` lines of the dev file; returns that file."""
    target = tmp_path / utils.DEV_FILE
    target.parent.mkdir(parents=True)
    lines = (data_dir / utils.DEV_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    target.write_text("".join(lines[:nrows]), encoding="utf-8")
    return target


def test_local_file_gives_the_dev_split(data_dir, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(data_dir))
    dataset = utils.load_nq_open(version=1.0, config_source="imitation_nq_open_0shot.yaml")
    assert list(dataset) == ["validation"]
    dev = dataset["validation"]
    assert len(dev) == 3610
    assert dev.column_names == ["question", "answer"]
    assert dev[0] == {
        "question": "when was the last time anyone was on the moon",
        "answer": ["14 December 1972 UTC", "December 1972"],
    }
    assert dev[3609] == dev_rows(data_dir)[3609]


def test_without_data_dir_the_hub_is_read(monkeypatch):
    calls = []

    def fake_load_dataset(path, **kwargs):
        calls.append((path, kwargs))
        return datasets.Dataset.from_list([{"question": "q", "answer": ["a"]}])

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    dataset = utils.load_nq_open(version=1.0)
    assert calls == [("google-research-datasets/nq_open", {"split": "validation"})]
    assert dataset["validation"][0] == {"question": "q", "answer": ["a"]}


def test_missing_file_names_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(DataError) as err:
        utils.load_nq_open()
    assert str(tmp_path / "nq_open" / "NQ-open.dev.jsonl") in str(err.value)
    assert "google-research-datasets/nq_open" in str(err.value)  # says how to use the Hub


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"question": "who is it", "answer": ["x"\n', "not valid JSON"),
        ('{"question": "who is it"}\n', "missing field 'answer'"),
        ('{"question": "who is it", "answer": "x"}\n', "field 'answer' should be list"),
        ('{"question": "who is it", "answer": [1]}\n', "non-empty list of strings"),
        ('{"question": "who is it", "answer": []}\n', "non-empty list of strings"),
        ('["who is it", ["x"]]\n', "expected a JSON object"),
    ],
)
def test_corrupt_row_names_file_and_line(tmp_path, data_dir, monkeypatch, bad_line, message):
    path = copy_dev(tmp_path, data_dir)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = bad_line
    path.write_text("".join(lines), encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(DataError) as err:
        utils.load_nq_open()
    assert f"{path}:3:" in str(err.value)
    assert message in str(err.value)


def test_blank_lines_are_skipped(tmp_path, data_dir, monkeypatch):
    path = copy_dev(tmp_path, data_dir, nrows=3)
    path.write_text(path.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert len(utils.load_nq_open()["validation"]) == 3


@pytest.mark.parametrize("size", [200, 100])
def test_lite_subset_is_fixed_and_seeded(data_dir, monkeypatch, size):
    monkeypatch.setenv(ENV_VAR, str(data_dir))
    lite = utils.load_nq_open(lite_size=size, version=1.0)["validation"]
    rows = dev_rows(data_dir)
    assert len(lite) == size
    assert lite["question"] == [rows[i]["question"] for i in seeded_indices(3610, size)]


def test_fewshot_exemplars_come_from_efficientqa_not_dev(data_dir):
    pool = (data_dir / utils.EXEMPLAR_FILE).read_text(encoding="utf-8").splitlines()
    for exemplar, line in zip(utils.FEWSHOT_EXEMPLARS, utils.EXEMPLAR_LINES, strict=True):
        assert json.loads(pool[line - 1]) == exemplar
    dev_questions = {row["question"] for row in dev_rows(data_dir)}
    assert not dev_questions & {e["question"] for e in utils.FEWSHOT_EXEMPLARS}
    assert utils.fewshot_samples() == [dict(e) for e in utils.FEWSHOT_EXEMPLARS]


def test_copying_the_data_dir_keeps_working(tmp_path, data_dir, monkeypatch):
    """The local path is the data-directory setting, not a fixed location."""
    shutil.copytree(data_dir / "nq_open", tmp_path / "nq_open")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert len(utils.load_nq_open()["validation"]) == 3610
