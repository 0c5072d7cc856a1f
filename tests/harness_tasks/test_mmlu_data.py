"""The MMLU loader: local CSVs in the cais/mmlu schema, clear errors, the lite subset."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness_tasks.data import ENV_VAR, DataError
from harness_tasks.subsets import seeded_indices
from harness_tasks.tasks.mmlu import utils
from harness_tasks.tasks.mmlu.subjects import SUBJECTS


def test_local_counts_over_all_subjects(data_dir):
    totals = {"test": 0, "validation": 0, "dev": 0}
    for subject in SUBJECTS:
        dataset = utils.load_mmlu(subject)
        assert set(dataset) == set(totals)
        assert len(dataset["dev"]) == 5, subject
        for split, rows in dataset.items():
            totals[split] += len(rows)
    assert totals == {"test": 14042, "validation": 1531, "dev": 285}


def test_schema_matches_cais_mmlu(data_dir):
    dataset = utils.load_mmlu("abstract_algebra")
    row = dataset["dev"][0]
    assert row == {
        "question": "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.",
        "subject": "abstract_algebra",
        "choices": ["0", "1", "2", "3"],
        "answer": 1,
    }
    assert dataset["dev"].features["answer"].names == ["A", "B", "C", "D"]


def test_extra_kwargs_are_ignored(data_dir):
    # lm-eval calls custom_dataset(**metadata, **dataset_kwargs); metadata carries model args.
    dataset = utils.load_mmlu(subject="anatomy", version=1.0, pretrained="x", config_source="y")
    assert len(dataset["test"]) == 135


def test_test_size_subsets_only_the_test_split(data_dir):
    full = utils.load_mmlu("anatomy")
    lite = utils.load_mmlu("anatomy", test_size=5)
    assert len(lite["test"]) == 5
    expected = [full["test"][i] for i in seeded_indices(len(full["test"]), 5)]
    assert list(lite["test"]) == expected
    assert list(lite["dev"]) == list(full["dev"])  # the 5 shots stay intact
    assert list(lite["validation"]) == list(full["validation"])
    assert list(utils.load_mmlu("anatomy", test_size=5)["test"]) == expected  # fixed


def test_unknown_subject_is_a_data_error(data_dir):
    with pytest.raises(DataError, match="unknown MMLU subject 'anatomyy'"):
        utils.load_mmlu("anatomyy")


def _copy_subject(src: Path, dst: Path, subject: str) -> None:
    for folder in ("dev", "val", "test"):
        (dst / "mmlu" / folder).mkdir(parents=True, exist_ok=True)
        name = f"{subject}_{folder}.csv"
        shutil.copy(src / "mmlu" / folder / name, dst / "mmlu" / folder / name)


def test_missing_file_names_the_path(data_dir, tmp_path, monkeypatch):
    _copy_subject(data_dir, tmp_path, "anatomy")
    missing = tmp_path / "mmlu" / "val" / "anatomy_val.csv"
    missing.unlink()
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(DataError, match="missing data file") as err:
        utils.load_mmlu("anatomy")
    assert str(missing.resolve()) in str(err.value)


def test_bad_answer_letter_names_file_and_line(data_dir, tmp_path, monkeypatch):
    _copy_subject(data_dir, tmp_path, "anatomy")
    test_csv = tmp_path / "mmlu" / "test" / "anatomy_test.csv"
    # Row 2 spans lines 2-3 (a quoted newline), a blank line follows, row 3 is on line 5.
    test_csv.write_text(
        "Q1,a,b,c,d,A\n"
        '"Q2 first line\nsecond line",a,b,c,d,B\n'
        "\n"
        "Q3,a,b,c,d,E\n",
        encoding="utf-8",
    )
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(DataError, match=r"anatomy_test\.csv:5: answer column .* got 'E'"):
        utils.load_mmlu("anatomy")


def test_wrong_column_count_names_file_and_line(data_dir, tmp_path, monkeypatch):
    _copy_subject(data_dir, tmp_path, "anatomy")
    (tmp_path / "mmlu" / "dev" / "anatomy_dev.csv").write_text("Q1,a,b,c,A\n", encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(DataError, match=r"anatomy_dev\.csv:1: expected 6 columns, got 5"):
        utils.load_mmlu("anatomy")


def test_hub_path_reads_cais_mmlu_and_keeps_three_splits(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(path, name):
        calls.append((path, name))
        row = {"question": ["q"], "subject": [name], "choices": [["a", "b", "c", "d"]],
               "answer": [2]}
        return datasets.DatasetDict(
            {split: datasets.Dataset.from_dict(row)
             for split in ("test", "validation", "dev", "auxiliary_train")}
        )

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    dataset = utils.load_mmlu("virology", test_size=1, pretrained="ignored")
    assert calls == [("cais/mmlu", "virology")]
    assert sorted(dataset) == ["dev", "test", "validation"]
