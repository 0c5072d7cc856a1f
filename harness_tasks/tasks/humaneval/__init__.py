"""HumanEval tasks (base completion, chat, sampled pass@k, lite subsets), executed in the
sandbox of harness_tasks.execution; see README.md."""
