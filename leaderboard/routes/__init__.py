"""The web app's routes, one APIRouter a concern (``leaderboard.app.create_app`` mounts them):

    api.py      POST   /api/runs              push    one run (PushPayload)
                POST   /api/published         push    published numbers with their source
                POST   /api/judge-agreement   push    an imitation-judge agreement.json
                GET    /api/runs/{id}         read    a run: results JSON verbatim + status
                GET    /api/models/{name}     read    a model: owner, card + its versions, runs
                GET    /api/leaderboard.json  read    the main table (filters: base, data, teacher,
                                                      q; every row, or page/per_page)
                GET    /api/leaderboard.csv   read    the same as CSV
    tokens.py   GET    /api/tokens            admin   list tokens (never their text)
                POST   /api/tokens            admin   create a token (its text is returned once)
                DELETE /api/tokens/{id}       admin   revoke
    pages.py    GET    /, /scaling, /style, /judges (the registry, leaderboard.pages), /model/{name}
    study.py    GET    /rate/{code}           -       the raters' page (blind pairwise rating)
                POST   /api/rate/{code}/next  rate    the rater's next pair
                POST   /api/rate/{code}/submit rate   a rating (Rating)
                GET    /api/studies[/{id}]    admin/read  the studies; one's results (admin if open)
                GET    /study/{id}            read    a study's results page (admin while open)

Authentication and authorisation are dependencies (``deps.require(scope)``); request bodies are
typed (``leaderboard.schemas``) and read only after the token is checked (``deps.json_body``).
"""
