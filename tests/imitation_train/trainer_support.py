"""Tiny real artefacts for the trainer tests: a byte-level BPE tokenizer trained on the shared
Alpaca-GPT4 sample (no Hub), tiny random-initialised GPT-2 and Llama models, and training
records converted from the shared data (Alpaca rows; real two-turn MT-bench conversations with
GPT-4's reference replies written as ShareGPT)."""

from __future__ import annotations

import json
from pathlib import Path

ALPACA = "imitation/alpaca_gpt4/alpaca_en_demo.json"
MT_Q = "eval_prompts/mt_bench/question.jsonl"
MT_A = "eval_prompts/mt_bench/reference_answer/gpt-4.jsonl"
CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
          "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def alpaca_rows(data_dir: Path, n: int) -> list[dict]:
    return json.loads((data_dir / ALPACA).read_text(encoding="utf-8"))[:n]


def alpaca_records(data_dir: Path, n: int) -> list[dict]:
    """Normalised records from Alpaca rows (instruction + input as the user turn)."""
    out = []
    for i, row in enumerate(alpaca_rows(data_dir, n)):
        user = row["instruction"] + (f"\n\n{row['input']}" if row.get("input") else "")
        out.append({"id": f"alpaca-{i}", "source": "alpaca_gpt4", "teacher": "gpt-4",
                    "messages": [{"role": "user", "content": user},
                                 {"role": "assistant", "content": row["output"]}]})
    return out


def sharegpt_multiturn(data_dir: Path) -> list[dict]:
    """Real two-turn conversations in ShareGPT format (MT-bench questions, GPT-4 replies)."""
    questions = {}
    for line in (data_dir / MT_Q).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        questions[row["question_id"]] = row["turns"]
    out = []
    for line in (data_dir / MT_A).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        turns = row["choices"][0]["turns"]
        conv = []
        for q, a in zip(questions[row["question_id"]], turns):
            conv += [{"from": "human", "value": q}, {"from": "gpt", "value": a}]
        out.append({"id": f"mt-{row['question_id']}", "conversations": conv})
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def tiny_tokenizer(data_dir: Path, chat: bool):
    """A 400-token byte-level BPE; chat=True adds ChatML tokens and a ChatML template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [r["instruction"] + " " + r["output"] for r in alpaca_rows(data_dir, 300)]
    specials = ["<|endoftext|>"] + (["<|im_start|>", "<|im_end|>"] if chat else [])
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>",
                                   bos_token="<|endoftext|>", unk_token="<|endoftext|>")
    if chat:
        fast.add_special_tokens({"additional_special_tokens": specials[1:]})
        fast.chat_template = CHATML
    return fast


def tiny_model(folder: Path, data_dir: Path, shape: str) -> Path:
    """Save a tiny random-initialised model + tokenizer: shape "gpt2" (no chat template:
    trained with the shipped vicuna template) or "llama" (its own ChatML template)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    tokenizer = tiny_tokenizer(data_dir, chat=shape == "llama")
    torch.manual_seed(0)
    if shape == "gpt2":
        config = GPT2Config(vocab_size=len(tokenizer), n_positions=512, n_embd=32, n_layer=2,
                            n_head=4, bos_token_id=tokenizer.bos_token_id,
                            eos_token_id=tokenizer.eos_token_id, resid_pdrop=0.0,
                            embd_pdrop=0.0, attn_pdrop=0.0)
        model = GPT2LMHeadModel(config)
    else:
        config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                             num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                             max_position_embeddings=512, tie_word_embeddings=False,
                             eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"))
        model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def training_file(data_dir: Path, path: Path, n_alpaca: int = 24) -> Path:
    """Normalised JSONL: Alpaca rows and the real two-turn ShareGPT conversations."""
    from imitation_train.record_loader import load_records

    share = write_jsonl(path.with_name("sharegpt.json"), sharegpt_multiturn(data_dir))
    multi = [r.to_json() for r in load_records(share, fmt="sharegpt", teacher="gpt-4")]
    return write_jsonl(path, alpaca_records(data_dir, n_alpaca) + multi[:8])


def one_thread():
    """Context manager: torch on one thread (the shared 2-core machine is oversubscribed and
    tiny matmuls on 2 contended threads run ~20x slower)."""
    import contextlib

    import torch

    @contextlib.contextmanager
    def manager():
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    return manager()
