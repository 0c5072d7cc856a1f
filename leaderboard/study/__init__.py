"""Blind pairwise human rating studies, as in Gudibande et al.'s crowd study (issue #17).

    tables.py   the schema (studies, pairs, assignments = ratings, judge verdicts)
    build.py    a study from two answer files (sampled prompts, attention checks), PandaLM import
    assign.py   the next pair for a rater (balanced, concurrency-safe) and a submitted rating
    stats.py    rates with bootstrap CIs, Fleiss' kappa, attention-check scores (pure functions)
    results.py  a study's results, LLM-judge verdicts on its pairs, the PandaLM export
    cli.py      ``imitation-leaderboard study ...``

The raters' page and API are ``leaderboard.routes.study``.
"""
