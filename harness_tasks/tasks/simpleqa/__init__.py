"""SimpleQA, three-way graded (correct / incorrect / not attempted); see README.md."""
