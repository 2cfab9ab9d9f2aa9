"""Per-request limits a deployer sets through environment variables (issue 13, section 2).

    from unique_core.limits import Limits
    lim = Limits.from_env()               # once per process; LimitsError names a bad variable
    members = lim.clamp_members(st.query_params.get("members"))   # any text -> a value in range
    st.slider("Ensemble members", 1, lim.max_members, members)

| variable                 | meaning                                   | default | allowed     |
|--------------------------|-------------------------------------------|---------|-------------|
| UNIQUE_MAX_BOX_KM        | largest side of a custom box, km          | 30      | 1.5 .. 30   |
| UNIQUE_MAX_MEMBERS       | most ensemble members of S1/S2            | 16      | 1 .. 16     |
| UNIQUE_MAX_STEPS         | most DDIM denoising steps of S1/S2        | 100     | 1 .. 100    |
| UNIQUE_MAX_SERIES_DAYS   | most days in one regional time series     | 3287    | 1 .. 3287   |
| UNIQUE_MAX_JOBS          | most heavy computations running at once   | CPUs    | 1 .. 1024   |

The defaults are what the CLI and the app allow today: grid.MAX_REGION_M (30 km boxes),
cli.common.MAX_MEMBERS / MAX_STEPS (16, 100), the app's date range 2015-01-01 .. 2023-12-31
(3287 days) and jobs.pool_size() (UNIQUE_MAX_JOBS, or the CPU count). A deployer can only
lower them: the defaults are also the ceilings the code itself enforces, so a larger value
is refused with the variable's name rather than silently ignored.

The `clamp_*` helpers never raise: they take anything a URL can carry (None, "", "abc",
"1e999", "-3", "nan") and return a value inside the range, so a hand-edited link cannot
start more work than the deployer allows.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass
from typing import Any, Mapping

from unique_core.errors import UniqueError
from unique_core.grid import BLOCK, MAX_REGION_M

# The ceilings (and defaults). Kept here rather than imported from cli.common, which imports
# typer and is being split; a test checks they agree with cli.common.
MAX_BOX_KM = MAX_REGION_M / 1000.0  # 30 km: the grid refuses larger regions
MIN_BOX_KM = BLOCK / 1000.0  # 1.5 km: one block, the smallest region the grid makes
MAX_MEMBERS = 16
MAX_STEPS = 100
FIRST_DAY, LAST_DAY = dt.date(2015, 1, 1), dt.date(2023, 12, 31)  # the app's date range
MAX_SERIES_DAYS = (LAST_DAY - FIRST_DAY).days + 1  # 3287: the whole range
MAX_JOBS = 1024  # no machine this runs on has more cores; a typo such as 20000 is refused

ENV_BOX_KM = "UNIQUE_MAX_BOX_KM"
ENV_MEMBERS = "UNIQUE_MAX_MEMBERS"
ENV_STEPS = "UNIQUE_MAX_STEPS"
ENV_SERIES_DAYS = "UNIQUE_MAX_SERIES_DAYS"
ENV_JOBS = "UNIQUE_MAX_JOBS"  # the same variable jobs.pool_size() reads


class LimitsError(UniqueError, ValueError):
    """A deployer's limit variable that is not a number in its allowed range."""


def _env_number(env: Mapping[str, str], name: str, default: float, low: float, high: float, *,
                integer: bool) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    kind = "a whole number" if integer else "a number"
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or not (low <= value <= high):
        raise LimitsError(f"{name}={text!r} is not {kind} from {low:g} to {high:g}; set it in that range "
                          f"(e.g. {name}={default:g}) or unset it for the default {default:g}")
    return value


def _number(value: Any) -> float | None:
    """A finite float from anything a URL or widget can carry, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (list, tuple)):  # st.query_params.get_all gives lists
        value = value[-1] if value else None
    try:
        x = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return x if math.isfinite(x) else None


def _clamp(value: Any, default: float, low: float, high: float) -> float:
    x = _number(value)
    if x is None:
        x = default
    return min(max(x, low), high)


@dataclass(frozen=True)
class Limits:
    """The largest request one user may make; every field is inclusive.

    max_box_km: largest side of a box, km. max_members: ensemble members. max_steps: DDIM
    steps. max_series_days: days in one series, both ends counted. max_jobs: heavy
    computations (S1, S2, regional series) at once for the whole server.
    """

    max_box_km: float = MAX_BOX_KM
    max_members: int = MAX_MEMBERS
    max_steps: int = MAX_STEPS
    max_series_days: int = MAX_SERIES_DAYS
    max_jobs: int = min(os.cpu_count() or 1, MAX_JOBS)

    def __post_init__(self) -> None:
        checks = ((ENV_BOX_KM, self.max_box_km, MIN_BOX_KM, MAX_BOX_KM),
                  (ENV_MEMBERS, self.max_members, 1, MAX_MEMBERS), (ENV_STEPS, self.max_steps, 1, MAX_STEPS),
                  (ENV_SERIES_DAYS, self.max_series_days, 1, MAX_SERIES_DAYS), (ENV_JOBS, self.max_jobs, 1, MAX_JOBS))
        for name, value, low, high in checks:
            if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
                raise LimitsError(f"{name} (Limits field) = {value!r} is outside {low:g} .. {high:g}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Limits":
        """The limits from UNIQUE_MAX_* variables (os.environ by default); unset or empty means default.

        LimitsError names the variable when a value is not a number in its range.
        """
        env = os.environ if env is None else env
        jobs_default = os.cpu_count() or 1
        return cls(
            max_box_km=_env_number(env, ENV_BOX_KM, MAX_BOX_KM, MIN_BOX_KM, MAX_BOX_KM, integer=False),
            max_members=int(_env_number(env, ENV_MEMBERS, MAX_MEMBERS, 1, MAX_MEMBERS, integer=True)),
            max_steps=int(_env_number(env, ENV_STEPS, MAX_STEPS, 1, MAX_STEPS, integer=True)),
            max_series_days=int(_env_number(env, ENV_SERIES_DAYS, MAX_SERIES_DAYS, 1, MAX_SERIES_DAYS,
                                            integer=True)),
            max_jobs=int(_env_number(env, ENV_JOBS, min(jobs_default, MAX_JOBS), 1, MAX_JOBS, integer=True)),
        )

    # --- clamping: never raises, whatever the input ---------------------------------------
    def clamp_box_km(self, value: Any, default: float = 15.0) -> float:
        """A box side in km within MIN_BOX_KM .. max_box_km (`default` when not a number)."""
        return float(_clamp(value, default, MIN_BOX_KM, self.max_box_km))

    def clamp_members(self, value: Any, default: int = 4) -> int:
        """Ensemble members within 1 .. max_members (`default` when not a number), rounded."""
        return int(round(_clamp(value, default, 1, self.max_members)))

    def clamp_steps(self, value: Any, default: int = 10) -> int:
        """DDIM steps within 1 .. max_steps (`default` when not a number), rounded."""
        return int(round(_clamp(value, default, 1, self.max_steps)))

    def clamp_jobs(self, value: Any) -> int:
        """A pool size within 1 .. max_jobs (max_jobs when not a number)."""
        return int(round(_clamp(value, self.max_jobs, 1, self.max_jobs)))

    def clamp_steps_to(self, value: Any, options: list[int], default: int = 10) -> int:
        """The largest of `options` (a select_slider's list) not above the clamped value.

        Options above max_steps should be dropped from the widget: `allowed_options`.
        """
        allowed = self.allowed_options(options)
        x = self.clamp_steps(value, default)
        below = [o for o in allowed if o <= x]
        return below[-1] if below else allowed[0]

    def allowed_options(self, options: list[int]) -> list[int]:
        """The options not above max_steps (at least the smallest one, so a widget is never empty)."""
        kept = sorted(o for o in options if o <= self.max_steps)
        return kept or [min(options)]

    def clamp_day(self, value: Any, default: dt.date) -> dt.date:
        """A date within FIRST_DAY .. LAST_DAY; `default` when the text is not an ISO date.

        This is the fix for `?ts_start=0001-01-01` raising StreamlitValueBelowMinError.
        """
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
        if isinstance(value, dt.datetime):
            d = value.date()
        elif isinstance(value, dt.date):
            d = value
        else:
            try:
                d = dt.date.fromisoformat(str(value).strip())
            except (TypeError, ValueError):
                d = default
        return min(max(d, FIRST_DAY), LAST_DAY)

    def clamp_series(self, start: Any, end: Any, *, default_start: dt.date = dt.date(2023, 1, 1),
                     default_end: dt.date = dt.date(2023, 12, 31)) -> tuple[dt.date, dt.date]:
        """(start, end) inside the date range, end not before start, at most max_series_days long.

        A range too long keeps its start and ends max_series_days - 1 days later (then within
        LAST_DAY, moving the start back if needed), so the user sees what was cut.
        """
        s = self.clamp_day(start, default_start)
        e = self.clamp_day(end, default_end)
        if e < s:
            s, e = e, s
        span = dt.timedelta(days=self.max_series_days - 1)
        if e - s > span:
            e = s + span
            if e > LAST_DAY:
                e = LAST_DAY
                s = e - span
        return s, e

    def series_days(self, start: dt.date, end: dt.date) -> int:
        """Days from start to end, both counted."""
        return (end - start).days + 1

    def check_box_km(self, width_km: float, height_km: float, *, source: str = "the box") -> None:
        """RegionError-style refusal (LimitsError) for a box wider or taller than max_box_km.

        For typed boxes (bbox in the sidebar, --bbox): refusing says what was wrong, where a
        silent clamp would move the user's box.
        """
        side = max(width_km, height_km)
        if not math.isfinite(side) or side > self.max_box_km + 1e-6:
            raise LimitsError(f"{source} is {width_km:.1f} x {height_km:.1f} km; this server allows at most "
                              f"{self.max_box_km:g} x {self.max_box_km:g} km ({ENV_BOX_KM}): draw a smaller box")

    def check_request(self, *, members: int, steps: int) -> None:
        """LimitsError when an S1/S2 request asks for more members or steps than allowed."""
        if not 1 <= members <= self.max_members:
            raise LimitsError(f"{members} ensemble members asked; this server allows 1 to {self.max_members} "
                              f"({ENV_MEMBERS}): ask for fewer")
        if not 1 <= steps <= self.max_steps:
            raise LimitsError(f"{steps} DDIM steps asked; this server allows 1 to {self.max_steps} "
                              f"({ENV_STEPS}): ask for fewer")

    def check_series(self, start: dt.date, end: dt.date) -> None:
        """LimitsError when a series is longer than max_series_days."""
        n = self.series_days(start, end)
        if n > self.max_series_days:
            raise LimitsError(f"the series {start} .. {end} is {n} days; this server allows at most "
                              f"{self.max_series_days} days ({ENV_SERIES_DAYS}): choose a shorter range")

    def as_dict(self) -> dict:
        """The limits as plain values (for `unique serve --show-limits` or the app's About)."""
        return {ENV_BOX_KM: self.max_box_km, ENV_MEMBERS: self.max_members, ENV_STEPS: self.max_steps,
                ENV_SERIES_DAYS: self.max_series_days, ENV_JOBS: self.max_jobs}
