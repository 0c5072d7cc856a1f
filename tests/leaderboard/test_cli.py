"""imitation-leaderboard on the command line: push a results folder (with samples, config and
card), duplicates, clear errors for bad files, tokens, published numbers, judge agreement,
push over HTTP, the static export, and push --checkpoint (slow: runs imitation-eval)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leaderboard.cli import main
from leaderboard.synthetic import card, synthetic_run


def write_run(folder: Path, seed: int = 0, acc=(0.3, 0.6)) -> Path:
    results, samples = synthetic_run({"imitation_nq_open_0shot": acc[0],
                                      "imitation_mmlu": acc[1]}, n=40, seed=seed)
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(results))
    (folder / "config.json").write_text(json.dumps({
        "imitation_suite_version": "0.1.0", "run_config": {"pretrained": "/m/smol-base",
                                                           "apply_chat_template": False}}))
    for task, rows in samples.items():
        (folder / f"samples_{task}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows))
    return folder


def run_cli(capsys, *argv: str) -> tuple[int, dict | list | None, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_push_folder_file_and_card_then_export(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    base = write_run(tmp_path / "r1", seed=1)
    code, out, _ = run_cli(capsys, "push", str(base), "--db", db)
    assert code == 0 and out["model"] == "smol-base" and out["status"] == "verified"
    code, out, _ = run_cli(capsys, "push", str(base), "--db", db)
    assert code == 0 and out["duplicate"] is True
    imi = write_run(tmp_path / "r2", seed=2)
    (tmp_path / "card.json").write_text(json.dumps(card("smol-imi", "smol-base", "gpt", 10**6)))
    code, out, _ = run_cli(capsys, "push", str(imi / "results.json"), "--samples",
                           str(imi / "samples_imitation_mmlu.jsonl"), "--card",
                           str(tmp_path / "card.json"), "--db", db)
    assert code == 0 and out["model"] == "smol-imi" and out["status"] == "unverified"
    assert "imitation_nq_open_0shot: no samples logged" in out["detail"]  # only MMLU's given
    code, out, _ = run_cli(capsys, "push", str(tmp_path), "--db", db)  # a tree of runs
    assert code == 0 and [Path(r["folder"]).name for r in out] == ["r1", "r2"]
    assert out[0]["duplicate"] is True  # r1 again; r2 without its card is another row
    assert out[1]["model"] == "smol-base" and out[1]["status"] == "verified"
    code, out, _ = run_cli(capsys, "export", "--html", str(tmp_path / "site"), "--db", db)
    assert code == 0 and out["files"] >= 8
    index = (tmp_path / "site" / "index.html").read_text()
    assert "smol-imi" in index and "static/leaderboard.js" in index
    assert list((tmp_path / "site" / "model").glob("smol-imi-*.html"))


def test_bad_files_give_file_and_line(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    folder = write_run(tmp_path / "r", seed=3)
    path = folder / "samples_imitation_mmlu.jsonl"
    lines = path.read_text().splitlines()
    lines[4] = "{broken"
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run_cli(capsys, "push", str(folder), "--db", db)
    assert code == 2 and f"{path}:5:" in err
    (tmp_path / "bad.json").write_text('{"results": {}\n,,}')
    code, _, err = run_cli(capsys, "push", str(tmp_path / "bad.json"), "--db", db)
    assert code == 2 and "bad.json:2:" in err
    code, _, err = run_cli(capsys, "push", str(tmp_path / "missing.json"), "--db", db)
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(capsys, "push", str(folder), "--db", "mysql://x/y")
    assert code == 2 and "not supported" in err


def test_tokens_published_agreement_and_push_over_http(tmp_path, capsys, monkeypatch):
    from leaderboard.app import create_app
    from leaderboard.db import make_engine, migrate
    from leaderboard.settings import Settings
    from leaderboard.testing_services import ServerThread

    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    code, tok, _ = run_cli(capsys, "token", "create", "--user", "ci", "--scopes", "push",
                           "--db", db)
    assert code == 0 and tok["token"].startswith("lb_")
    code, listed, _ = run_cli(capsys, "token", "list", "--db", db)
    assert listed[0]["user"] == "ci" and tok["token"] not in json.dumps(listed)
    (tmp_path / "pub.json").write_text(json.dumps({
        "model": {"name": "chatgpt", "kind": "teacher"}, "source": "paper table 1",
        "scores": [{"task": "imitation_nq_open_0shot", "metric": "acc", "value": 0.31,
                    "harness_version": "suite 0.1.0 / lm-eval 0.4.13"}]}))
    code, out, _ = run_cli(capsys, "publish", str(tmp_path / "pub.json"), "--db", db)
    assert code == 0 and out["status"] == "published"
    (tmp_path / "agreement.json").write_text(json.dumps({
        "dataset": "pandalm", "judge": "gpt-4o with pairwise@v1",
        "judge_vs_majority": {"n": 999, "agreement_with_ties": 0.62, "cohen_kappa": 0.41},
        "human_vs_human_mean": {"agreement_with_ties": 0.67}}))
    code, out, _ = run_cli(capsys, "push-agreement", str(tmp_path / "agreement.json"),
                           "--db", db)
    assert code == 0 and out["judge_run_id"] == 1
    engine = make_engine(db)
    migrate(engine)
    with ServerThread(create_app(Settings(db=db), engine)) as srv:
        folder = write_run(tmp_path / "r", seed=4)
        monkeypatch.delenv("IMITATION_LEADERBOARD_TOKEN", raising=False)
        code, _, err = run_cli(capsys, "push", str(folder), "--url", srv.url)
        assert code == 2 and "IMITATION_LEADERBOARD_TOKEN is not set" in err
        monkeypatch.setenv("IMITATION_LEADERBOARD_TOKEN", tok["token"])
        code, out, _ = run_cli(capsys, "push", str(folder), "--url", srv.url)
        assert code == 0 and out["status"] == "verified"
        code, out, _ = run_cli(capsys, "token", "revoke", "--id", str(tok["id"]), "--db", db)
        assert code == 0
        code, _, err = run_cli(capsys, "push", str(write_run(tmp_path / "r2", seed=5)),
                               "--url", srv.url)
        assert code == 2 and "403" in err and "revoked" in err
        import requests

        judges = requests.get(srv.url + "/judges", timeout=30).text
        assert "pandalm" in judges and "0.620" in judges and "0.670" in judges
    engine.dispose()


@pytest.mark.slow
def test_push_checkpoint_runs_imitation_eval_first(tmp_path, capsys, tiny_model_dir):
    """A real (tiny, random) HF checkpoint with an imitation_card: evaluated, then stored."""
    import shutil

    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_model_dir, ckpt)
    (ckpt / "imitation_card.json").write_text(json.dumps(
        card("tiny-imi", "smollm2-135m-instruct", "gpt-4o", 12345)))
    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    code, out, _ = run_cli(capsys, "push", "--checkpoint", str(ckpt), "--tasks",
                           "imitation_nq_open_0shot", "--limit", "3", "--output-dir",
                           str(tmp_path / "results"), "--db", db)
    assert code == 0, out
    assert out["model"] == "tiny-imi" and out["status"] == "verified"
    from leaderboard.db import make_engine
    from leaderboard.views import model_page

    page = model_page(make_engine(db), "tiny-imi")
    assert page["base"] == "smollm2-135m-instruct" and page["card"]["token_budget"] == 12345


def test_serve_command_runs_a_real_server(tmp_path):
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    proc = subprocess.Popen([sys.executable, "-m", "leaderboard.cli", "serve", "--db", db,
                             "--port", str(port)], cwd=Path(__file__).resolve().parents[2],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
                    assert resp.status == 200 and b"Does imitation" in resp.read()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-1000:]
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not answer")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert (tmp_path / "lb.sqlite").is_file()


def test_read_only_commands_never_create_or_migrate_a_database(tmp_path, capsys):
    from sqlalchemy import text

    from leaderboard.db import head_revision, make_engine

    missing = tmp_path / "typo" / "lb.sqlite"
    for argv in (["export", "--html", str(tmp_path / "site")], ["token", "list"],
                 ["token", "revoke", "--id", "1"]):
        code, out, err = run_cli(capsys, *argv, "--db", f"sqlite:///{missing}")
        assert code == 2 and out is None, argv
        assert len(err.strip().splitlines()) == 1, err
        assert f"no leaderboard database at {missing}" in err and "check --db" in err, err
    assert not (tmp_path / "typo").exists() and not (tmp_path / "site").exists()
    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    code, out, _ = run_cli(capsys, "token", "create", "--user", "ci", "--db", db)  # a write
    assert code == 0 and (tmp_path / "lb.sqlite").is_file()
    engine = make_engine(db)
    with engine.begin() as conn:  # as if another version of the code had migrated it
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    code, _, err = run_cli(capsys, "export", "--html", str(tmp_path / "site"), "--db", db)
    assert code == 2 and "schema revision 0000" in err and "imitation-leaderboard migrate" in err
    with engine.begin() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0000"
        conn.execute(text(f"UPDATE alembic_version SET version_num = '{head_revision()}'"))
    engine.dispose()
    code, listed, _ = run_cli(capsys, "token", "list", "--db", db)
    assert code == 0 and [t["user"] for t in listed] == ["ci"]
    code, out, _ = run_cli(capsys, "export", "--html", str(tmp_path / "site"), "--db", db)
    assert code == 0 and (tmp_path / "site" / "index.html").is_file()
