"""The reports people read, in Vietnamese: one readiness check, the year's survey, one rollout."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from provisioner.health.evaluate import CLASS_LABELS, CLASSES, KIND_LABELS, SiteCheck
from provisioner.health.survey import DOWN, NEVER, NO_EQUIPMENT, STABLE, UNSTABLE, Survey
from provisioner.health.tables import Cell, Report, Table, local_time
from provisioner.state import Run, SiteRecord

Hostvars = Mapping[str, Mapping[str, Any]]
_VERDICT = {"ok": "Ổn định", "fail": "Không hoạt động", "none": "Không có thiết bị"}
_ROLLOUT = {"ok": "Đạt", "changed": "Đạt", "failed": "Lỗi", "unreachable": "Không kết nối"}


def _where(site: str, hostvars: Hostvars) -> list[str]:
    hv = hostvars.get(site, {})
    return [str(hv.get("site_district") or ""), str(hv.get("site_commune") or ""), site]


def _districts(sites: Iterable[str], hostvars: Hostvars) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for s in sorted(sites, key=lambda s: (_where(s, hostvars), s)):
        out.setdefault(_where(s, hostvars)[0], []).append(s)
    return out


def _uptime(seconds: int) -> str:
    days, rest = divmod(int(seconds), 86400)
    return f"{days} ngày {rest // 3600} giờ" if days else f"{rest // 3600} giờ {rest % 3600 // 60} phút"


def _drift_table(rows: Iterable[tuple[str, Any]], hostvars: Hostvars) -> Table:
    table = Table("Thay đổi thiết bị", ["Huyện", "Xã", "Điểm cầu", "Thiết bị", "Loại thay đổi", "Chi tiết"])
    kinds = {"missing": "Thiếu", "swapped": "Bị thay", "serial": "Khác số serial", "moved": "Chuyển từ điểm cầu khác"}
    for site, d in rows:
        table.rows.append([*_where(site, hostvars), KIND_LABELS.get(d.device, d.device), kinds[d.kind], d.text])
    return table


def readiness(run: Run, checks: Iterable[SiteCheck], hostvars: Hostvars) -> Report:
    """One check run: which rooms are ready, which are not and why, which are dark; equipment drift."""
    by_site = {c.site: c for c in checks}
    sites = Table(
        "Điểm cầu",
        ["Huyện", "Xã", "Điểm cầu", "Kết nối", *(CLASS_LABELS[c] for c in CLASSES), "Thời gian hoạt động", "Nguyên nhân"],
    )
    summary = Table("Tổng hợp theo huyện", ["Huyện", "Số điểm cầu", "Sẵn sàng", "Chưa sẵn sàng", "Không kết nối"])
    for district, names in _districts(by_site, hostvars).items():
        counts = [0, 0, 0]
        for s in names:
            c = by_site[s]
            counts[0 if c.ok else 2 if not c.reachable else 1] += 1
            verdicts = [(_VERDICT[c.classes[k].status] if k in c.classes else "") for k in CLASSES]
            causes = "; ".join(cause for v in c.classes.values() for cause in v.causes)
            uptime = _uptime(c.facts["uptime_s"]) if "uptime_s" in c.facts else ""
            sites.rows.append([*_where(s, hostvars), "Có" if c.reachable else "Không kết nối", *verdicts, uptime, causes])
        summary.rows.append([district, len(names), *counts])
    ready = sum(c.ok for c in by_site.values())
    dark = sum(not c.reachable for c in by_site.values())
    lines = [
        f"Lần kiểm tra {run.id}, lúc {local_time(run.started_at)}, do {run.who} thực hiện.",
        f"Số điểm cầu: {len(by_site)}; sẵn sàng: {ready}; chưa sẵn sàng: {len(by_site) - ready - dark}; không kết nối: {dark}.",
    ]
    drift = _drift_table(((c.site, d) for c in by_site.values() for d in c.drift), hostvars)
    return Report("Kiểm tra sẵn sàng các điểm cầu trực tuyến", lines, [summary, sites, drift])


def survey(result: Survey, hostvars: Hostvars, province: str = "") -> Report:
    """The year's survey (seed 001's form) filled from the check history."""
    statuses = (STABLE, UNSTABLE, DOWN, NO_EQUIPMENT, NEVER)
    totals = Table("Tổng hợp", ["Thiết bị", *statuses])
    for cls in (*CLASSES, "overall"):
        label = "Tình trạng hoạt động chung" if cls == "overall" else CLASS_LABELS[cls]
        totals.rows.append([label, *(result.count(cls, st) for st in statuses)])
    sites = Table(
        "Điểm cầu",
        [
            "Huyện",
            "Xã",
            "Điểm cầu",
            *(CLASS_LABELS[c] for c in CLASSES),
            "Tình trạng chung",
            "Số lần kiểm tra",
            "Số lần không kết nối",
            "Số sự cố",
        ],
    )
    incidents = Table("Sự cố", ["Huyện", "Xã", "Điểm cầu", "Từ", "Đến", "Số lần kiểm tra", "Thiết bị", "Nguyên nhân"])
    lines_by_site = {s.site: s for s in result.sites}
    for names in _districts(lines_by_site, hostvars).values():
        for name in names:
            s = lines_by_site[name]
            row: list[Cell] = [*_where(name, hostvars), *(s.statuses[c] for c in CLASSES), s.overall]
            row += [s.checks, s.dark, len(s.incidents)]
            sites.rows.append(row)
            incidents.rows.extend(
                [*_where(name, hostvars), local_time(i.at), local_time(i.until), i.checks, i.what, i.cause] for i in s.incidents
            )
    never, dark = result.never_seen, result.dark_at_check_time
    lines = [
        f"Năm {result.year}{' — ' + province if province else ''}. Số liệu lấy từ các lần kiểm tra tự động trong năm.",
        f"Số điểm cầu: {len(result.sites)}.",
        f"Số điểm cầu chưa từng kiểm tra được: {len(never)}{': ' + ', '.join(never) if never else ''}.",
        f"Số điểm cầu không kết nối lúc kiểm tra (ít nhất một lần): {len(dark)}{': ' + ', '.join(dark) if dark else ''}.",
        "Cách tính: Không hoạt động = lỗi ở lần kiểm tra cuối cùng trong năm; Không ổn định = lỗi ở hơn 5% số lần kiểm tra;"
        " Ổn định = còn lại. Điểm cầu không kết nối lúc kiểm tra được tính là lỗi của thiết bị đầu cuối.",
    ]
    drift = _drift_table(((s.site, d) for s in result.sites for d in s.drift), hostvars)
    return Report(
        f"Phiếu khảo sát tình hình hoạt động hệ thống giao ban trực tuyến năm {result.year}",
        lines,
        [totals, sites, incidents, drift],
    )


def rollout(run: Run, results: Mapping[str, SiteRecord], hostvars: Hostvars) -> Report:
    """One rollout: each site's last result in it, by district."""
    sites = Table("Điểm cầu", ["Huyện", "Xã", "Điểm cầu", "Kết quả", "Số thay đổi", "Lần thử", "Thời gian", "Lỗi"])
    summary = Table("Tổng hợp theo huyện", ["Huyện", "Số điểm cầu", "Đạt", "Lỗi", "Không kết nối"])
    for district, names in _districts(results, hostvars).items():
        counts = dict.fromkeys(("Đạt", "Lỗi", "Không kết nối"), 0)
        for s in names:
            r = results[s]
            verdict = _ROLLOUT[r.status]
            counts[verdict] += 1
            error = f"{r.failed_task}: {r.message}" if r.failed_task else (r.message or "")
            sites.rows.append([*_where(s, hostvars), verdict, r.changed, r.attempt, local_time(r.at), error])
        summary.rows.append([district, len(names), *counts.values()])
    lines = [
        f"Lần triển khai {run.id}: bắt đầu {local_time(run.started_at)}, kết thúc {local_time(run.finished_at or '')},"
        f" kết quả {run.status}, do {run.who} thực hiện.",
        f"Số điểm cầu: {len(results)}.",
    ]
    return Report("Báo cáo triển khai cấu hình các điểm cầu", lines, [summary, sites])
