"""The history's numbers as a plain table (screen readers, copying), built in one pass: a
90-day span holds some 2,200 points, too many cells for a template loop to stay quick."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .models import HistoryPoint
from .selectors import RealmHistory


def _when(point: HistoryPoint) -> str:
    mean = "" if point.samples == 1 else f" (mean of {point.samples} refreshes)"
    return point.at.strftime("%Y-%m-%d %H:%M") + mean


def history_rows_html(history: RealmHistory) -> SafeString:
    def cells(values: list[int]) -> str:
        return "".join(f"<td>{int(v)}</td>" for v in values)

    return format_html_join(
        "\n",
        '<tr><th scope="row"><time datetime="{}">{}</time></th>{}<td>{}</td></tr>',
        (
            (
                p.at.isoformat(),
                _when(p),
                SafeString(
                    cells([p.online, p.offline, p.users])
                    + cells((p.expiring + [0] * 5)[:5])
                    + cells((p.offline_idle + [0] * 5)[:5])
                ),
                format_html("{}", p.refresh_s),
            )
            for p in reversed(history.points)
        ),
    )
