"""Hand-written miniature brand worlds for the loader tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

CUSTOMERS_HEADER = (
    "customer_id,signup_date,age,gender,region,city_tier,device,income_band,loyalty_member,"
    "newsletter_opt_in,avg_session_minutes,pages_per_visit,discount_usage_rate"
)
CUSTOMERS = (
    CUSTOMERS_HEADER
    + """
C1,2025-01-05,34,female,north,tier1,mobile,middle,true,false,3.5,4.0,0.2
C2,2025-01-06,51,male,south,tier2,desktop,high,false,true,2.0,3.0,0.0
C3,2025-02-01,40,other,east,tier3,tablet,low,true,true,1.0,2.0,0.5
"""
)
TOUCHPOINTS = """event_id,customer_id,timestamp,channel,campaign,interaction,cost
E1,C1,2025-03-01T10:00:00,social,spring_launch,impression,0.01
E2,C1,2025-03-01T10:05:00,social,spring_launch,click,0.5
E3,C2,2025-03-02T09:00:00,seo,organic,visit,0
E4,C2,2025-03-03T10:00:00,edm,always_on,open,0
E5,C3,2025-03-10T18:30:00,paid_search,spring_launch,click,1.2
"""
CONVERSIONS = """order_id,customer_id,timestamp,revenue
O1,C1,2025-03-02T11:00:00,50
O2,C2,2025-03-05T12:00:00,60.5
"""
SPEND = """date,channel,campaign,spend,impressions,clicks
2025-03-01,social,spring_launch,100,1000,50
2025-03-01,edm,always_on,10,500,20
2025-03-02,social,spring_launch,90,900,45
"""
SURVEY_HEADER = (
    "respondent_id,wave,fieldwork_date,period,brand,aware,consider,prefer,intent,nps,customer_id"
)
SURVEY = (
    SURVEY_HEADER
    + """
R1,W1,2025-01-20,pre,Lumina,1,1,0,0,7,C1
R2,W1,2025-01-20,pre,Lumina,0,0,0,0,,
R3,W1,2025-01-20,pre,Brightly,1,0,0,0,5,C99
R1,W2,2025-05-20,post,Lumina,1,1,1,1,9,C1
"""
)
AB_TESTS = """test_id,channel,variant,description,start_date,end_date,sends,opens,clicks,conversions
T1,edm,A,"Spring, naturally",2025-04-07,2025-04-13,2500,543,77,10
T1,edm,B,Meet Lumina,2025-04-07,2025-04-13,2500,576,74,8
"""
CREATIVES = """creative_id,channel,campaign,language,text
CR1,social,spring_launch,en,"Clean beauty, refillable."
CR2,edm,spring_launch,zh,清洁美妆
"""
VALID = {
    "customers": CUSTOMERS,
    "touchpoints": TOUCHPOINTS,
    "conversions": CONVERSIONS,
    "spend": SPEND,
    "survey": SURVEY,
    "ab_tests": AB_TESTS,
    "creatives": CREATIVES,
}
AS_OF = "2025-07-01"


def write_world(folder: Path, **tables: str | None) -> Path:
    """Write the valid mini world to ``folder``; keyword overrides replace a table's CSV text
    (``None`` leaves the file out)."""
    folder.mkdir(parents=True, exist_ok=True)
    content = {**VALID, **tables}
    for name, text in content.items():
        if text is not None:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def make_world(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_world(touchpoints=text)`` writes a world folder and returns it."""
    counter = iter(range(1000))

    def _make(**tables: str | None) -> Path:
        return write_world(tmp_path / f"world{next(counter)}", **tables)

    return _make


def assert_no_row_lost(world) -> None:
    """Check ``rows_loaded + rows_quarantined == rows_read`` per table against the quarantine."""
    for name, rep in world.report.tables.items():
        assert rep.rows_loaded + rep.rows_quarantined == rep.rows_read, name
        if rep.present:
            assert len(world.tables[name]) == rep.rows_loaded, name
            lines = world.quarantine[world.quarantine["file"] == rep.file]
            assert lines["row"].nunique() == rep.rows_quarantined, name
            assert len(lines) == rep.faults, name


@pytest.fixture
def no_row_lost() -> Callable[..., None]:
    """The invariant checker ``no_row_lost(world)``."""
    return assert_no_row_lost


@pytest.fixture
def valid_csv() -> dict[str, str]:
    """The CSV text of every table of the valid mini world (to edit in a test)."""
    return dict(VALID)
