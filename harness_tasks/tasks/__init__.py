"""Task YAMLs (lm-eval format), one folder per family, with small pure utils."""
