"""imitation_train: imitation data and fine-tuning (``imitation-train``; see TRAINING.md).

- collect teacher replies (``imitation_train.collect``), read any input format as normalised chat
  records (``record_loader``, ``input_formats``, ``chat_records``) and prepare them
  (``prepare``: dedupe, decontaminate, token budgets);
- fine-tune with the loss on the assistant replies only (``chat_encoding``, ``train_dataset``,
  ``trainer``), sweep models x budgets x data (``sweep``) and run the paper's experiment
  (``imitation_train.experiment``).

The last package of the line judges <- harness_tasks <- leaderboard <- imitation_train: it may
import all three. Importing it does nothing expensive (no torch, no model, no client).
"""
