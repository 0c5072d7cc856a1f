"""NQ-open closed-book QA tasks (0-shot, 3-shot, chat, and their lite subsets); see README.md."""
