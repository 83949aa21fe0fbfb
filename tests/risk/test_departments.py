from services.risk.domain.departments import DEPARTMENTS, department_of_industry


def test_sector_departments_supervise_their_industries():
    assert department_of_industry("education") == "education"
    assert department_of_industry("fitness") == "sports"
    for industry in ("catering", "beauty", "retail", "other"):
        assert department_of_industry(industry) == "commerce"


def test_every_department_named_in_chinese():
    assert set(DEPARTMENTS) == {"samr", "commerce", "education", "sports", "association"}
    assert all(name and not name.isascii() for name in DEPARTMENTS.values())
