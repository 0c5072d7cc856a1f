"""MMLU (Hendrycks et al. 2021) for lm-eval: the original 5-shot log-likelihood protocol,
a generative variant, and seeded lite subsets. See README.md in this folder."""
