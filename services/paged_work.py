"""Work done a bounded page at a time, until a page reports that no more is due.

The escrow's scheduled work comes in pages so that an RPC caller is answered in time however
much is due. Its timer and the demo clock (over RPC) both run pages until done.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable


def run_pages(
    next_page: Callable[[], dict], between_pages: Callable[[], None] = lambda: None
) -> dict:
    """Runs `next_page` until a page's `more` is false; the totals of the pages' counts."""
    total: Counter = Counter()
    while True:
        page = dict(next_page())
        more = page.pop("more")
        total.update(page)
        if not more:
            return dict(total)
        between_pages()
