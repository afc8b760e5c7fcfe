"""Statuses in the survey's own words, from the check history over a period.

For each device class of each site, over the checks of the period:

- **Không hoạt động** (not working): the class failed in the period's last check
  that could see it (for the terminal, a site dark at check time counts: a room
  switched off before a meeting is not working);
- **Không ổn định** (unstable): it works at the last check, but failed in more
  than ``unstable_share`` (5 %) of the period's checks;
- **Ổn định** (stable): otherwise.

A class the registry gives the site no equipment for is "Không có thiết bị"; a
site no check reached in the period, "Chưa kiểm tra". The site as a whole (the
survey's "Tình trạng hoạt động chung") takes the worst of its classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from provisioner.health.evaluate import CLASS_LABELS, CLASSES, Drift, SiteCheck
from provisioner.health.tables import LOCAL

STABLE, UNSTABLE, DOWN = "Ổn định", "Không ổn định", "Không hoạt động"
NO_EQUIPMENT, NEVER = "Không có thiết bị", "Chưa kiểm tra"
#: worst first
_RANK = {DOWN: 0, UNSTABLE: 1, STABLE: 2}


@dataclass(frozen=True)
class Thresholds:
    unstable_share: float = 0.05  # a class failing in more than this share of the period's checks is unstable


DARK = "Mất kết nối"


@dataclass
class Incident:
    """A fault over consecutive checks: one class failing for one cause (or the site dark), first to last seen."""

    at: str
    what: str  # a class label, or DARK
    cause: str
    until: str = ""
    checks: int = 1


@dataclass
class SiteSurvey:
    site: str
    statuses: dict[str, str] = field(default_factory=dict)  # class → status word
    overall: str = NEVER
    checks: int = 0
    dark: int = 0  # checks that found the site unreachable
    dark_at_last: bool = False
    incidents: list[Incident] = field(default_factory=list)
    drift: tuple[Drift, ...] = ()  # at the last check that reached the site

    @property
    def seen(self) -> bool:
        return self.checks > self.dark


def _status(samples: list[str], thresholds: Thresholds) -> str:
    if not samples:
        return NEVER
    if all(s == "none" for s in samples):
        return NO_EQUIPMENT
    known = [s for s in samples if s != "none"]
    if known[-1] == "fail":
        return DOWN
    return UNSTABLE if known.count("fail") / len(known) > thresholds.unstable_share else STABLE


def summarise(site: str, history: Iterable[SiteCheck], thresholds: Thresholds | None = None) -> SiteSurvey:
    """One site's survey line from its checks (in time order)."""
    th = thresholds or Thresholds()
    checks = sorted(history, key=lambda c: c.at)
    out = SiteSurvey(site, checks=len(checks), dark=sum(not c.reachable for c in checks))
    out.dark_at_last = bool(checks) and not checks[-1].reachable
    for cls in CLASSES:
        out.statuses[cls] = _status([c.classes[cls].status for c in checks if cls in c.classes], th)
    ranked = [s for s in out.statuses.values() if s in _RANK]
    out.overall = min(ranked, key=_RANK.__getitem__) if ranked else NEVER
    out.incidents = _incidents(checks)
    reached = [c for c in checks if c.reachable]
    out.drift = reached[-1].drift if reached else ()
    return out


def _incidents(checks: list[SiteCheck]) -> list[Incident]:
    """Failed checks grouped into incidents: the same fault in consecutive checks is one incident."""
    found: list[Incident] = []
    ongoing: dict[str, Incident] = {}
    for c in checks:
        if c.reachable:
            failing = {CLASS_LABELS[k]: "; ".join(v.causes) for k, v in c.classes.items() if v.status == "fail"}
            looked_at = {DARK, *(CLASS_LABELS[k] for k in c.classes)}
        else:  # a dark check says nothing of the devices: their incidents go on
            failing, looked_at = {DARK: c.error}, {DARK}
        for what in [w for w in ongoing if w in looked_at and failing.get(w) != ongoing[w].cause]:
            del ongoing[what]
        for what, cause in failing.items():
            if what in ongoing:
                ongoing[what].until, ongoing[what].checks = c.at, ongoing[what].checks + 1
            else:
                ongoing[what] = Incident(c.at, what, cause, c.at)
                found.append(ongoing[what])
    return found


@dataclass
class Survey:
    year: int
    sites: list[SiteSurvey]

    def count(self, cls: str, status: str) -> int:
        return sum(1 for s in self.sites if (s.overall if cls == "overall" else s.statuses.get(cls)) == status)

    @property
    def never_seen(self) -> list[str]:
        return [s.site for s in self.sites if not s.seen]

    @property
    def dark_at_check_time(self) -> list[str]:
        return [s.site for s in self.sites if s.dark]


def survey(year: int, sites: Iterable[str], history: Iterable[SiteCheck], thresholds: Thresholds | None = None) -> Survey:
    """Every site's survey line for ``year`` (sites with no check in it included, as never seen)."""
    by_site: dict[str, list[SiteCheck]] = {}
    for c in history:
        by_site.setdefault(c.site, []).append(c)
    return Survey(year, [summarise(s, by_site.get(s, []), thresholds) for s in sites])


def status_counts(result: Survey) -> Mapping[str, Mapping[str, int]]:
    """How many sites have each status, per class and overall."""
    return {
        cls: {st: result.count(cls, st) for st in (STABLE, UNSTABLE, DOWN, NO_EQUIPMENT, NEVER)} for cls in (*CLASSES, "overall")
    }


def year_bounds(year: int) -> tuple[str, str]:
    """A calendar year in Vietnam's time, as the stored (UTC) times compare."""
    start, end = datetime(year, 1, 1, tzinfo=LOCAL), datetime(year + 1, 1, 1, tzinfo=LOCAL)
    return start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()
