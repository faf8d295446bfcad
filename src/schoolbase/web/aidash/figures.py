"""The dashboard's arithmetic, with no database: money as people read it, usage rows folded
into totals per day, feature, model and person, and the geometry of its small SVG charts."""

import calendar
import uuid
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

CURRENCY = "USD"  # the AI prices and the budget are in US dollars


def money(value: Decimal | int | None) -> str:
    """Two decimals with the currency: $1,234.50 (a non-zero amount under a cent: < $0.01)."""
    if value is None:
        return "—"
    amount = Decimal(value)
    if 0 < amount < Decimal("0.005"):
        return "< $0.01"
    return f"${amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


def month_bounds(today: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """The month ``today`` is in, as [start, end) instants of the organization's time zone."""
    zone = ZoneInfo(time_zone)
    local = today.astimezone(zone)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    end = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=zone)
    return start, end


def days_of(month_start: datetime) -> list[date]:
    last = calendar.monthrange(month_start.year, month_start.month)[1]
    return [date(month_start.year, month_start.month, d) for d in range(1, last + 1)]


@dataclass
class Totals:
    requests: int = 0
    succeeded: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)

    def add(self, row: "UsageRow") -> None:
        self.requests += row.requests
        self.succeeded += row.succeeded
        self.input_tokens += row.input_tokens
        self.output_tokens += row.output_tokens
        self.cost_usd += row.cost_usd


@dataclass(frozen=True)
class UsageRow:
    """The usage log grouped by local day, person, feature, model and outcome."""

    day: date
    user_id: uuid.UUID
    feature: str
    service_id: uuid.UUID
    status: str
    requests: int
    succeeded: int
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost_usd: Decimal


@dataclass(frozen=True)
class Line:
    """One row of a breakdown table: what it is about and its totals."""

    key: Hashable
    label: str
    totals: Totals


def breakdown(rows: Iterable[UsageRow], key: Callable[[UsageRow], Hashable], label) -> list[Line]:
    """Totals per ``key``, the largest spend first (then by label)."""
    found: dict[Hashable, Totals] = {}
    for row in rows:
        found.setdefault(key(row), Totals()).add(row)
    lines = [Line(k, label(k), t) for k, t in found.items()]
    return sorted(lines, key=lambda line: (-line.totals.cost_usd, -line.totals.requests, line.label))


def per_day(rows: Iterable[UsageRow], days: list[date]) -> list[Line]:
    """Every day of the month in order, days without calls included."""
    found = {line.key: line.totals for line in breakdown(rows, lambda r: r.day, str)}
    return [Line(d, f"{d:%a} {d.day} {d:%b}", found.get(d, Totals())) for d in days]


def total(rows: Iterable[UsageRow]) -> Totals:
    totals = Totals()
    for row in rows:
        totals.add(row)
    return totals


# ---------------------------------------------------------------- chart geometry


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    tick: str = ""


@dataclass
class Chart:
    """A bar chart in a ``width`` × ``height`` view box; the numbers are in a table beside it."""

    title: str
    bars: list[Bar] = field(default_factory=list)
    width: int = 640
    height: int = 200
    top: str = ""


def column_chart(title: str, values: list[tuple[str, Decimal | int, str]], every: int = 5) -> Chart:
    """Vertical bars (one per day): ``values`` are (label, number, number as text); every
    ``every``-th bar carries its label under the axis."""
    chart = Chart(title)
    if not values:
        return chart
    peak = max((v for _, v, _ in values), default=0) or 1
    plot = chart.height - 24
    step = chart.width / len(values)
    for i, (label, value, shown) in enumerate(values):
        h = float(Decimal(value) / Decimal(peak)) * (plot - 4)
        tick = label.split()[1] if (i % every == 0 and " " in label) else ""
        chart.bars.append(Bar(i * step + 1, plot - h, max(step - 2, 1), h, label, shown, tick))
    chart.top = next(shown for _, v, shown in values if v == peak) if any(v for _, v, _ in values) else ""
    return chart


def row_chart(title: str, values: list[tuple[str, Decimal | int, str]]) -> Chart:
    """Horizontal bars, one per label (the label is written in the table beside)."""
    chart = Chart(title, height=max(len(values), 1) * 32)
    peak = max((v for _, v, _ in values), default=0) or 1
    for i, (label, value, shown) in enumerate(values):
        w = float(Decimal(value) / Decimal(peak)) * (chart.width - 220)
        chart.bars.append(Bar(200, i * 32 + 4, w, 24, label, shown))
    return chart
