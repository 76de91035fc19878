"""A sensible starting definition of a warm lead, for managers to adjust on the Scoring page.

Frozen here (a migration must not import code that will change later)."""

from django.db import migrations

FIT = [
    # label, field, operator, value, points
    ("Senior title (VP, Director, Head of)", "job_title", "contains", "VP,Vice President,Director,Head of", 15),
    ("C-level title", "job_title", "contains", "Chief,CEO,CTO,CMO,CRO,CFO,COO", 20),
    ("Company of 200 people or more", "company_size", "gte", "200", 15),
    ("Company of 1,000 people or more", "company_size", "gte", "1000", 10),
    ("Target market", "country", "in", "DE,AT,CH,GB,NL,FR,US", 5),
    ("Free-mail address", "email_domain", "in", "gmail.com,yahoo.com,hotmail.com,outlook.com,gmx.de,web.de", -10),
    ("Phone number given", "phone", "is_set", "", 5),
]
ENGAGEMENT = [
    ("Demo request", "demo_request", 30),
    ("Webinar attended", "webinar_attended", 20),
    ("Event attended", "event_attended", 15),
    ("Pricing page visit", "pricing_page", 10),
    ("Content download", "content_download", 8),
    ("Form submitted", "form_submit", 5),
    ("Webinar registration", "webinar_registered", 5),
    ("Email click", "email_click", 3),
    ("Web page visit", "page_view", 2),
]


def forwards(apps, schema_editor):
    ScoringDefinition = apps.get_model("leads", "ScoringDefinition")
    ScoringRule = apps.get_model("leads", "ScoringRule")
    ScoringDefinition.objects.get_or_create(pk=1, defaults={"threshold": 60, "version": 1})
    if ScoringRule.objects.exists():
        return
    for position, (label, field, operator, value, points) in enumerate(FIT):
        ScoringRule.objects.create(
            kind="fit", label=label, field=field, operator=operator, value=value, points=points, position=position
        )
    for position, (label, engagement_type, points) in enumerate(ENGAGEMENT):
        ScoringRule.objects.create(
            kind="engagement", label=label, engagement_type=engagement_type, points=points, position=position
        )


class Migration(migrations.Migration):
    dependencies = [("leads", "0003_agreement_scoring_gate_routing")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
