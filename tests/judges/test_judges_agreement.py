"""Agreement with humans on the real PandaLM and Auto-J files in the shared data folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judges import data as jdata
from sklearn.metrics import cohen_kappa_score

from judges import agreement as agr


@pytest.fixture(scope="module")
def pandalm(data_dir: Path) -> list[agr.HumanItem]:
    return agr.load_pandalm(data_dir)


def test_pandalm_humans_match_the_published_figures(pandalm) -> None:
    # PandaLM's README: Cohen's kappa 0.85 (1-2), 0.88 (1-3), 0.86 (2-3); majority labels
    # 105 ties, 422 "1", 472 "2".
    report = agr.agreement_report(pandalm, {it.id: "1" for it in pandalm})
    kappas = {k: round(v["cohen_kappa"], 2) for k, v in report["human_vs_human"].items()}
    assert kappas == {"1-2": 0.85, "1-3": 0.88, "2-3": 0.86}
    assert report["human_majority_labels"] == {"tie": 105, "1": 422, "2": 472}
    assert report["pairs"] == 999 and report["no_majority"] == 0


def test_gpt35_verdicts_shipped_with_pandalm(pandalm, data_dir: Path) -> None:
    verdicts = agr.load_verdicts(data_dir / agr.PANDALM_FILES["gpt-3.5-turbo"])
    assert sum(v == "unscored" for v in verdicts.values()) == 25  # its "garbage" replies
    report = agr.agreement_report(pandalm, verdicts)
    vs = report["judge_vs_majority"]
    assert (vs["n"], vs["scored"], vs["unscored"], vs["n_without_ties"]) == (999, 974, 25, 849)
    assert vs["agreement_with_ties"] == pytest.approx(697 / 974)
    assert vs["strict_agreement"] == pytest.approx(697 / 999)
    assert vs["agreement_without_ties"] == pytest.approx(0.8151, abs=1e-4)
    assert vs["cohen_kappa"] == pytest.approx(0.4929, abs=1e-4)
    assert report["human_vs_human_mean"]["agreement_with_ties"] > vs["agreement_with_ties"] + 0.15


def test_pandalm7b_verdicts(pandalm, data_dir: Path) -> None:
    verdicts = agr.load_verdicts(data_dir / agr.PANDALM_FILES["pandalm-7b"])
    vs = agr.agreement_report(pandalm, verdicts)["judge_vs_majority"]
    assert vs["unscored"] == 0 and vs["agreement_with_ties"] == pytest.approx(667 / 999)


def test_kappa_matches_scikit_learn() -> None:
    a = ["1", "2", "tie", "1", "1", "2", "tie", "2", "1", "2"]
    b = ["1", "2", "1", "1", "2", "2", "tie", "tie", "1", "1"]
    assert agr.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert agr.cohen_kappa(["1", "1"], ["1", "1"]) is None  # no variation: undefined


def test_compare_by_hand() -> None:
    result = agr.compare(["1", "2", "tie", "unscored", "1"], ["1", "1", "tie", "2", "tie"])
    assert (result["scored"], result["unscored"]) == (4, 1)
    assert result["agreement_with_ties"] == pytest.approx(2 / 4)
    assert result["agreement_without_ties"] == pytest.approx(1 / 2)  # pairs (1,1) and (2,1)
    assert result["strict_agreement"] == pytest.approx(2 / 5)
    assert agr.majority(("1", "2", "tie")) is None and agr.majority(("2", "1", "2")) == "2"
    assert agr.fleiss_kappa([("1", "1"), ("2", "2"), ("tie", "tie")]) == pytest.approx(1.0)


def test_autoj_loads(data_dir: Path) -> None:
    items = agr.load_autoj(data_dir)
    assert len(items) == 1392 and all(len(it.humans) == 1 for it in items)
    assert {lab for it in items for lab in it.humans} == {"1", "2", "tie"}
    report = agr.agreement_report(items, {it.id: it.humans[0] for it in items})
    assert report["judge_vs_majority"]["agreement_with_ties"] == 1.0
    assert "human_vs_human" not in report  # one annotator: no human-human figure


def test_our_verdict_file(tmp_path: Path, pandalm) -> None:
    path = tmp_path / "verdicts.jsonl"
    path.write_text("".join(json.dumps({"id": it.id, "verdict": "tie"}) + "\n" for it in pandalm[:5]))
    verdicts = agr.load_verdicts(path)
    assert verdicts == {it.id: "tie" for it in pandalm[:5]}
    with pytest.raises(ValueError, match="lack 994 of 999"):
        agr.agreement_report(pandalm, verdicts)
    path.write_text('{"id": "0", "verdict": "A"}\n')
    with pytest.raises(ValueError, match=r"verdicts.jsonl:1: expected"):
        agr.load_verdicts(path)


def test_missing_data_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(jdata.DATA_ENV, raising=False)
    with pytest.raises(ValueError, match="set IMITATION_SUITE_DATA"):
        jdata.data_dir(search=False)
    with pytest.raises(ValueError, match="does not exist"):
        jdata.data_dir(tmp_path / "nowhere")
    monkeypatch.setenv(jdata.DATA_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="judge_human/pandalm/testset-v1.json"):
        agr.load_pandalm(jdata.data_dir())
    with pytest.raises(ValueError, match="testdata_pairwise.jsonl.gz"):
        agr.load_autoj(jdata.data_dir())


def test_unset_env_falls_back_to_shared_data_beside_the_checkout(
        monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.delenv(jdata.DATA_ENV, raising=False)
    if (Path(jdata.__file__).resolve().parents[2] / "shared" / "data").resolve() != data_dir.resolve():
        pytest.skip("the shared data folder is not beside this checkout")
    assert jdata.data_dir() == data_dir.resolve()
