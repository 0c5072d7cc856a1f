"""The HTML pages: one route for each page of the registry (``leaderboard.pages.PAGES``, read
by the static export too) and the model pages. All need the read scope (public by default)."""

from __future__ import annotations

from typing import Callable

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from leaderboard.pages import PAGES, Page, PageNotFound, Query, render_model
from leaderboard.render import Links
from leaderboard.routes.deps import READ, BoardDep, HTTPProblem

router = APIRouter(tags=["pages"], dependencies=[Depends(READ)],
                   default_response_class=HTMLResponse)


def _show(page: Page) -> Callable[..., HTMLResponse]:
    def show(lb: BoardDep, query: Query = Depends(page.query)) -> HTMLResponse:
        try:
            return HTMLResponse(lb.page(page, query))
        except PageNotFound as err:
            raise HTTPProblem(404, str(err)) from None

    show.__name__ = f"page_{page.name}"
    return show


for _page in PAGES:
    router.add_api_route(Links().page(_page.name), _show(_page), methods=["GET"],
                         name=_page.name, response_class=HTMLResponse)


@router.get("/model/{name:path}")
def model(name: str, lb: BoardDep) -> HTMLResponse:
    html = render_model(lb.env, lb.links, lb.engine, name)
    if html is None:
        raise HTTPProblem(404, f"no model named {name!r}")
    return HTMLResponse(html)
