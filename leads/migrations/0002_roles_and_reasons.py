"""Roles as groups with permissions, and the default reason taxonomy.

The role → permission table is frozen here (a migration must not import code that
changes later); a later change to roles is a new migration.
"""

from django.db import migrations

VIEW = ["view_lead", "view_leadevent", "view_engagement", "view_touch", "view_campaign",
        "view_reason", "view_team", "view_membership"]
ROLE_PERMISSIONS = {
    "Marketer": VIEW + [
        "add_lead", "change_lead", "qualify_lead", "disqualify_lead", "reopen_lead",
        "merge_lead", "import_leads", "refer_lead", "add_engagement", "change_engagement",
        "add_campaign", "change_campaign",
    ],
    "Sales rep": VIEW + [
        "change_lead", "respond_lead", "close_lead", "disqualify_lead", "add_touch", "refer_lead",
    ],
    "Manager": VIEW + [
        "add_lead", "change_lead", "qualify_lead", "respond_lead", "close_lead",
        "disqualify_lead", "reopen_lead", "reassign_lead", "merge_lead", "import_leads",
        "refer_lead", "add_engagement", "change_engagement", "add_touch", "add_campaign",
        "change_campaign", "add_reason", "change_reason", "change_team", "change_membership",
    ],
    "Admin": None,  # every permission of the product's apps
}

REASONS = [
    # (kind, code, label, loss_outcome)
    ("rejection", "not-decision-maker", "Not a decision maker", ""),
    ("rejection", "no-budget", "No budget", ""),
    ("rejection", "bad-timing", "Bad timing (not buying in the next 6 months)", ""),
    ("rejection", "wrong-fit", "Company not a fit (size, industry)", ""),
    ("rejection", "bad-contact-data", "Contact data wrong or incomplete", ""),
    ("rejection", "no-real-interest", "No real interest (content only)", ""),
    ("rejection", "existing-customer", "Already a customer", ""),
    ("rejection", "duplicate", "Duplicate of another lead", ""),
    ("loss", "price", "Price", "recycle"),
    ("loss", "competitor", "Chose a competitor", "recycle"),
    ("loss", "no-decision", "No decision / went dark", "recycle"),
    ("loss", "timing", "Project postponed", "recycle"),
    ("loss", "missing-feature", "Missing feature", "recycle"),
    ("loss", "not-a-fit", "Not a fit after discovery", "disqualify"),
    ("loss", "company-closed", "Company closed or acquired", "disqualify"),
    ("disqualification", "spam", "Spam or fake contact", ""),
    ("disqualification", "student", "Student or job seeker", ""),
    ("disqualification", "competitor", "Works for a competitor", ""),
    ("disqualification", "out-of-territory", "Outside our markets", ""),
    ("disqualification", "unsubscribed", "Asked not to be contacted", ""),
]


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for label in ("leads", "sla", "auth"):
        config = apps.get_app_config(label)
        if not getattr(config, "models_module", None):
            config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    product = Permission.objects.filter(content_type__app_label__in=["leads", "sla", "reports"])
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = product if codenames is None else product.filter(codename__in=codenames)
        group.permissions.set(perms)
    Reason = apps.get_model("leads", "Reason")
    for position, (kind, code, label, outcome) in enumerate(REASONS):
        Reason.objects.get_or_create(
            kind=kind, code=code,
            defaults={"label": label, "loss_outcome": outcome, "position": position},
        )


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0001_initial"),
        ("sla", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
