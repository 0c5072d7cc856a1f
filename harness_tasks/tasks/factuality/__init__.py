"""NQ-open three-way graded, knowledge versus format, and the style profile; see README.md."""
