"""A believable demo organisation with weeks of history, made by the real services.

Every lead's history is produced by calling `leads.services` with the clock set to the
moment it happens (time-machine), so the event log is the truth: replaying it gives each
lead's current stage. Actions are applied in time order from one queue, each in its own
transaction inside its moment, so what a service queues for after the commit (the SLA
breach actions, notifications, automatic hand-offs) happens at that moment too, on the
seed's clock. An action that falls due after "now" is simply not applied, which leaves a
realistic present, whatever the day and hour of the seeding: MQLs handed off in the last
two business days still waiting for a response with running clocks, some of them overdue,
SQLs being worked, an agreement change proposed on the previous business day.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import random
import time
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, F
from django.test import override_settings
from django.utils import timezone
from faker import Faker

from leads import services
from leads.models import (
    Consent,
    ConsentMethod,
    Engagement,
    Lead,
    LeadEvent,
    Stage,
    Touch,
    TouchKind,
    TouchOutcome,
)
from leads.services.notes import lead_note_add
from reports.commitments import commitment_update, commitments_close_weeks
from reports.snapshots import freeze_finished_weeks
from sla.calendar import BusinessCalendar, business_time_between
from sla.models import Clock, EnforcementRun, SlaPolicy
from sla.services import sla_enforce
from smarketing.agreement import versions
from smarketing.agreement.models import AgreementVersion, Reason, ReasonKind, ScoringDefinition
from smarketing.core.errors import ActionError
from smarketing.intake.models import Referral
from smarketing.intake.referrals import referral_submit
from smarketing.notifications.models import Notification
from smarketing.org.campaigns import campaign_create
from smarketing.org.models import Campaign, Channel, EngagementType, Membership, Source, Team, TeamKind
from smarketing.org.roles import Role
from smarketing.privacy.models import PrivacyAudit, RetentionRun

# What the demo's web forms and campaign landing pages asked visitors to agree to.
DEMO_CONSENT_WORDING = "Yes, send me product news and event invitations (newsletter consent v2)"
# Sources whose leads answered that question when they signed up.
DEMO_CONSENT_SOURCES = (Source.WEBSITE, Source.ORGANIC_SEARCH, Source.SOCIAL)
# One in this many of the leads still with marketing later unsubscribed (withdrew consent).
DEMO_WITHDRAWN_EVERY = 23
DEMO_PASSWORD = "smarketing-demo"  # noqa: S105 - the demo organisation's published password

PEOPLE = [
    # username, first, last, role, team
    ("marketer", "Mia", "Marsh", Role.MARKETER, "Marketing"),
    ("marketer2", "Noah", "Nguyen", Role.MARKETER, "Marketing"),
    ("marketer3", "Olivia", "Ortiz", Role.MARKETER, "Marketing"),
    ("marketer4", "Paul", "Peters", Role.MARKETER, "Marketing"),
    ("rep", "Rita", "Reyes", Role.SALES_REP, "Sales"),
    ("rep2", "Sam", "Schmidt", Role.SALES_REP, "Sales"),
    ("rep3", "Tara", "Thompson", Role.SALES_REP, "Sales"),
    ("rep4", "Uma", "Usman", Role.SALES_REP, "Sales"),
    ("rep5", "Victor", "Vogel", Role.SALES_REP, "Sales"),
    ("rep6", "Wendy", "Wagner", Role.SALES_REP, "Sales"),
    ("manager.marketing", "Maria", "Moreau", Role.MANAGER, "Marketing"),
    ("manager.sales", "Steve", "Svensson", Role.MANAGER, "Sales"),
    ("technician", "Tom", "Tech", None, None),
    ("admin", "Ada", "Admin", Role.ADMIN, None),
]
DEMO_USERNAMES = [p[0] for p in PEOPLE]

CAMPAIGNS = [
    # name, channel, source, budget, actual cost, weight (the booth went over its budget)
    ("Q3 Pipeline Webinar Series", Channel.WEBINAR, Source.WEBINAR, 5000, 4500, 14),
    ("Google Ads — Lead Routing", Channel.PAID_SEARCH, Source.PAID_SEARCH, 20000, 18000, 18),
    ("LinkedIn — RevOps Leaders", Channel.PAID_SOCIAL, Source.PAID_SOCIAL, 15000, 12000, 12),
    ("SaaStr Europa Booth", Channel.EVENT, Source.EVENT, 22000, 25000, 8),
    ("Customer Seminar Series", Channel.EVENT, Source.EVENT, 6000, 6000, 5),
    ("Funnel Benchmark Report 2026", Channel.CONTENT, Source.ORGANIC_SEARCH, 4000, 3000, 16),
    ("Nurture — Recycled Leads", Channel.EMAIL, Source.EMAIL, 1000, 800, 7),
    ("Partner Co-marketing — Acme Consulting", Channel.PARTNER, Source.PARTNER, 5000, 5000, 6),
]

TITLES = [
    "VP Sales",
    "Head of Marketing",
    "Revenue Operations Manager",
    "CMO",
    "Sales Director",
    "Marketing Operations Lead",
    "CEO",
    "Head of Growth",
    "Demand Generation Manager",
    "Business Development Manager",
    "Marketing Manager",
    "CRO",
    "Sales Operations Analyst",
]
COUNTRIES = ["DE", "DE", "DE", "AT", "CH", "NL", "GB", "GB", "FR", "US", "US", "SE"]
SIZES = [12, 25, 40, 60, 120, 200, 350, 500, 800, 1500, 4000]
ENGAGEMENTS = [
    (EngagementType.PAGE_VIEW, "Product tour", 2),
    (EngagementType.PRICING_PAGE, "Pricing page", 10),
    (EngagementType.CONTENT_DOWNLOAD, "Funnel Benchmark Report 2026", 8),
    (EngagementType.WEBINAR_REGISTERED, "Webinar: Closing the loop", 5),
    (EngagementType.WEBINAR_ATTENDED, "Webinar: Closing the loop", 20),
    (EngagementType.EVENT_ATTENDED, "Booth visit", 15),
    (EngagementType.EMAIL_CLICK, "Newsletter: SLA playbook", 3),
    (EngagementType.DEMO_REQUEST, "Demo request form", 30),
]
# What a colleague who refers someone says they need (the refer form's "What do they need?").
REFERRAL_NEEDS = [
    "Met her at a customer dinner: their SDR team is drowning in spreadsheets.",
    "Old colleague, now VP Sales; wants a demo for about 40 reps before Q1.",
    "Asked me at the meetup how we route web leads; evaluating HubSpot alternatives.",
    "Their marketing and sales argue about lead quality every Monday, in his words.",
    "Friend of a customer; needs SLA reporting for a board meeting next month.",
]
# Notes on the timeline: the marketer tells the rep what the score does not say, the rep
# tells the marketer what the first call found (each mentions the other: @username).
HANDOFF_NOTES = [
    "they downloaded the pricing sheet twice this week; budget owner is on the call.",
    "came from the seminar, asked about the Salesforce migration in the Q&A.",
    "warm: replied to the nurture email asking for a call this week.",
]
SALES_NOTES = [
    "first call done, they want a proposal for 25 seats. Thanks for the context!",
    "decision maker confirmed; the webinar was what convinced them.",
    "good fit but timing is next quarter, keeping it warm.",
]
REQUALIFY_NOTES = [
    "Budget confirmed for next quarter after a second call.",
    "Now talking to the head of sales, the decision maker.",
    "Attended the pricing webinar; asked for a proposal.",
    "Corrected phone and job title; new project kicked off.",
]


@dataclass(order=True)
class Action:
    at: dt.datetime
    seq: int
    kind: str = field(compare=False)
    lead_index: int = field(compare=False, default=-1)
    extra: dict = field(compare=False, default_factory=dict)


DEMO_HOT_POLICY = {
    "name": "Hot MQLs",
    "priority": 10,
    "min_score": 80,
    "response_hours": Decimal("2"),
    "follow_up_touches": 6,
    "follow_up_days": Decimal("5"),
    "warn_percents": [50, 80],
    "on_breach": "reassign",
    "escalate_to_manager": True,
}
DEMO_REASON = "Buys through a partner"
# Hand-offs this recent (business time before "now") are mostly still waiting for sales.
STILL_WAITING = dt.timedelta(hours=16)
UNREAD_KEPT = 6  # each person's newest notifications left unread: an inbox people read


class Command(BaseCommand):
    help = "Create a demo organisation with weeks of funnel history, through the real services."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=2000, help="how many leads (default 2000)")
        parser.add_argument("--weeks", type=int, default=12, help="weeks of history (default 12)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
        parser.add_argument("--reset", action="store_true", help="delete existing product data first")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing (and succeed) when leads exist"
        )
        parser.add_argument("--now", help="pretend it is this ISO time (tests; default: now)")
        parser.add_argument(
            "--no-logins", action="store_true", help="do not print the login table (the run script prints it)"
        )

    # --- entry point ---------------------------------------------------------------------------

    def handle(self, *args, **opts):
        if Lead.objects.exists():
            if opts["if_empty"]:
                self.stdout.write("Demo data already loaded; nothing to do.")
                return
            if not opts["reset"]:
                raise CommandError(
                    "This database already has leads. Use --reset to delete all product data "
                    "and seed again, or --if-empty to leave it alone."
                )
            self.reset()
        self.rng = random.Random(opts["seed"])
        self.fake = Faker("en_US")
        self.fake.seed_instance(opts["seed"])
        self.tz = ZoneInfo(settings.SMARKETING_TIME_ZONE)
        self.calendar = BusinessCalendar(time_zone=settings.SMARKETING_TIME_ZONE)  # the teams' (default)
        now = dt.datetime.fromisoformat(opts["now"]) if opts["now"] else timezone.now()
        if timezone.is_naive(now):
            now = timezone.make_aware(now)
        self.now = now.replace(microsecond=0)
        self.start = self.now - dt.timedelta(weeks=opts["weeks"])
        # Marketing's commitment: about what the demo team hands off in a week (three in ten
        # leads are handed off), raised by the quarterly review.
        weekly = opts["leads"] / max(opts["weeks"], 1) * 0.3
        agreed = max(5, 5 * round(weekly / 5))
        self.commitment = (agreed, agreed + 5)
        started = time.monotonic()

        app = current_app
        logging.disable(logging.INFO)  # thousands of "task succeeded" lines help nobody
        eager = app.conf.task_always_eager
        app.conf.task_always_eager = True  # notifications made in-process, emails discarded
        try:
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                with time_machine.travel(self.start - dt.timedelta(days=1), tick=False):
                    self.make_organisation()
                self.simulate(opts["leads"])
        finally:
            app.conf.task_always_eager = eager
            logging.disable(logging.NOTSET)
        self.summary(time.monotonic() - started)
        if not opts["no_logins"]:
            call_command("demo_logins", stdout=self.stdout)

    # --- organisation ------------------------------------------------------------------------

    def make_organisation(self):
        User = get_user_model()
        tz = settings.SMARKETING_TIME_ZONE
        teams = {
            "Marketing": Team.objects.create(name="Marketing", kind=TeamKind.MARKETING, time_zone=tz),
            "Sales": Team.objects.create(name="Sales", kind=TeamKind.SALES, time_zone=tz),
        }
        self.users = {}
        for username, first, last, role, team in PEOPLE:
            user = User.objects.create_user(
                username=username,
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                email=f"{username}@smarketing.example",
                is_staff=role == Role.ADMIN,
                is_superuser=role == Role.ADMIN,
            )
            if role:
                user.groups.add(Group.objects.get(name=role))
            if team:
                Membership.objects.create(team=teams[team], user=user)
            self.users[username] = user
        teams["Marketing"].manager = self.users["manager.marketing"]
        teams["Sales"].manager = self.users["manager.sales"]
        for team in teams.values():
            team.save()
        # Marketing's side of the agreement: about what the demo team delivers in a week, in
        # force from the day before the history starts (the quarterly review raises it).
        commitment_update(
            actor=self.users["manager.marketing"],
            team_id=teams["Marketing"].pk,
            min_mqls=self.commitment[0],
            min_acceptance_percent=62,
        )
        self.marketers = [self.users[u] for u in ("marketer", "marketer2", "marketer3", "marketer4")]
        self.campaigns = []
        for position, (name, channel, source, budget, cost, weight) in enumerate(CAMPAIGNS):
            starts = (self.start + dt.timedelta(days=position * 3)).date()
            campaign = campaign_create(  # as marketing's manager would, audited
                actor=self.users["manager.marketing"],
                name=name,
                channel=channel,
                budget=Decimal(budget),
                cost=Decimal(cost),
                starts_on=starts,
                ends_on=starts + dt.timedelta(days=70),
                owner=self.marketers[position % len(self.marketers)],
            )
            self.campaigns.append((campaign, source, weight))
        self.referrers = [self.users[u] for u in ("technician", "technician", "rep3")]
        self.reasons = {kind: list(Reason.objects.active().of_kind(kind)) for kind in ReasonKind.values}
        versions.version_in_force()  # version 1 of the agreement: what the teams started with

    # --- the simulation ---------------------------------------------------------------------

    def business_moment(self, moment: dt.datetime) -> dt.datetime:
        """The same moment, or the next one inside Mon–Fri 09:00–17:00 local time."""
        local = moment.astimezone(self.tz)
        while local.weekday() >= 5 or local.hour >= 17:
            local = (local + dt.timedelta(days=1)).replace(hour=9, minute=self.rng.randint(0, 59))
        if local.hour < 9:
            local = local.replace(hour=9, minute=self.rng.randint(0, 59))
        return local.astimezone(dt.UTC)

    def business_before(self, moment: dt.datetime) -> dt.datetime:
        """The same moment, or the last one before it inside Mon–Fri 09:00–17:00 local time."""
        local = moment.astimezone(self.tz)
        if local.weekday() < 5 and local.hour < 9:
            local -= dt.timedelta(days=1)
            local = local.replace(hour=16, minute=self.rng.randint(0, 59))
        while local.weekday() >= 5:
            local = (local - dt.timedelta(days=1)).replace(hour=16, minute=self.rng.randint(0, 59))
        if local.hour >= 17:
            local = local.replace(hour=16, minute=self.rng.randint(0, 59))
        return local.astimezone(dt.UTC)

    def push(self, at, kind, lead_index=-1, **extra):
        heapq.heappush(self.queue, Action(at, next(self.seq), kind, lead_index, extra))

    def simulate(self, count: int):
        self.queue: list[Action] = []
        self.seq = itertools.count()
        self.lead_ids: dict[int, int] = {}
        span = (self.now - self.start).total_seconds()
        for index in range(count):
            # More leads arrive on weekdays, in office hours: pick a moment, then move it.
            at = self.start + dt.timedelta(seconds=self.rng.uniform(0, span * 0.995))
            at = self.business_moment(at) if self.rng.random() < 0.8 else at
            if at < self.now:
                self.push(at, "create", index)
        # The agreement changes once in the history (a quarterly review, both confirm), and
        # a further change is proposed yesterday, waiting for marketing.
        review = self.business_moment(self.start + (self.now - self.start) * 0.45)
        self.push(review, "agreement_review")
        self.push(self.later(review, days=1), "confirm", who="manager.sales")
        # "Yesterday": the previous business day, whatever day and hour the demo is seeded.
        self.push(self.business_before(self.now - dt.timedelta(days=1)), "agreement_proposal")
        moment = self.start
        while moment < self.now:
            self.push(moment, "enforce")
            moment += dt.timedelta(hours=2)
        created = 0
        while self.queue and self.queue[0].at <= self.now:
            action = heapq.heappop(self.queue)
            # One transaction per action, inside its moment: what it queues for after the
            # commit runs then, not at the wall clock's time.
            with time_machine.travel(action.at, tick=False):
                try:
                    with transaction.atomic():
                        self.apply(action)
                except ActionError as exc:
                    # The plan met the rules (say, no rep available): the refusal is the outcome.
                    self.stderr.write(f"  skipped {action.kind} of lead {action.lead_index}: {exc}")
            if action.kind == "create":
                created += 1
                if created % 500 == 0:
                    self.stdout.write(f"  {created:,} of about {count:,} leads …")
        self.fill_queues()
        self.withdraw_some()
        with time_machine.travel(self.now, tick=False):
            sla_enforce(now=self.now)
            while commitments_close_weeks(now=self.now):  # every finished week, batch by batch
                pass
            freeze_finished_weeks(now=self.now)  # as the weekly beat job would have
        if connection.vendor == "postgresql":
            # Fresh tables have no planner statistics until autovacuum gets to them; the
            # dashboard's plans are 5-10x slower without them.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        # People read their inbox: all but their newest few notifications have been seen.
        for recipient in Notification.objects.values_list("recipient", flat=True).distinct().order_by():
            newest = Notification.objects.filter(recipient=recipient).order_by("-created_at", "-id")
            kept = list(newest.values_list("pk", flat=True)[:UNREAD_KEPT])
            newest.exclude(pk__in=kept).update(read_at=F("created_at") + dt.timedelta(hours=2))

    def withdraw_some(self):
        """A few people still with marketing unsubscribed yesterday: their consent is
        withdrawn (the lead list's "Do not contact")."""
        yesterday = self.business_before(self.now - dt.timedelta(days=1))
        given = Lead.objects.live().filter(stage=Stage.LEAD, consent=Consent.GIVEN, consent_at__lt=yesterday)
        for lead_id in list(given.order_by("pk").values_list("pk", flat=True))[::DEMO_WITHDRAWN_EVERY]:
            with time_machine.travel(yesterday, tick=False):
                services.lead_consent_record(
                    lead_id=lead_id,
                    actor=None,
                    method=ConsentMethod.FORM,
                    consent=Consent.WITHDRAWN,
                    consent_wording=DEMO_CONSENT_WORDING,
                )

    def fill_queues(self, tries: int = 40):
        """Every rep starts the day with MQLs to answer, whatever the hour of the seeding: if a
        rep has none waiting, marketing hands off more of its ready leads in the last business
        hour (routing picks the rep, as always), until each has one or the tries run out."""
        reps = {u.pk for u in self.users.values() if u.groups.filter(name=Role.SALES_REP).exists()}
        moment = self.business_before(self.now - dt.timedelta(minutes=30))
        ready = (
            Lead.objects.live()
            .filter(stage=Stage.LEAD, recycle_count=0, engagements__isnull=False)
            .exclude(job_title="")
            .distinct()
            .order_by("-created_at")
        )
        for lead in ready[:tries]:
            waiting = set(Lead.objects.live().filter(stage=Stage.MQL).values_list("owner", flat=True))
            if reps <= waiting:
                return
            if lead.events.filter(occurred_at__gte=moment).exists():
                continue  # its history goes on after that moment
            with time_machine.travel(moment, tick=False):
                try:
                    with transaction.atomic():
                        services.lead_qualify(lead_id=lead.pk, actor=self.rng.choice(self.marketers))
                except ActionError:
                    continue  # the hand-off gate said no: marketing keeps it

    def lead(self, action: Action) -> Lead:
        return Lead.objects.select_related("owner").get(pk=self.lead_ids[action.lead_index])

    def later(self, at, *, hours=0.0, days=0.0, business=True):
        moment = at + dt.timedelta(hours=hours, days=days)
        return self.business_moment(moment) if business else moment

    def apply(self, action: Action):  # noqa: C901 - one branch per kind of action
        rng = self.rng
        kind = action.kind
        if kind == "enforce":
            sla_enforce(now=action.at)
        elif kind == "create":
            self.create(action)
        elif kind == "engage":
            etype, title, points = rng.choice(ENGAGEMENTS)
            services.engagement_log(
                lead_id=self.lead_ids[action.lead_index],
                actor=None,
                type=etype,
                title=title,
                points=points,
                origin="demo",
                external_id=f"demo-{action.seq}",
            )
        elif kind == "qualify":
            lead = self.lead(action)
            if lead.stage != Stage.LEAD:
                return
            note = rng.choice(REQUALIFY_NOTES) if lead.recycle_count else ""
            lead = services.lead_qualify(lead_id=lead.pk, actor=rng.choice(self.marketers), note=note)
            if lead.owner is not None and rng.random() < 0.12:
                self.push(self.later(action.at, hours=0.1), "note", action.lead_index, side="marketing")
            slow = rng.random() < 0.08
            delay = rng.uniform(9, 30) if slow else rng.uniform(0.2, 6)
            if (
                business_time_between(action.at, self.now, self.calendar) < STILL_WAITING
                and rng.random() < 0.7
            ):
                delay = (self.now - action.at).total_seconds() / 3600 + 1  # still waiting now
            self.push(
                self.later(action.at, hours=delay, business=False),
                "respond",
                action.lead_index,
                fit=action.extra.get("fit", 0),
            )
        elif kind == "respond":
            lead = self.lead(action)
            if lead.stage != Stage.MQL:
                return
            fit = action.extra.get("fit", 0)
            # MQLs handed off under the reviewed agreement are accepted a little more often.
            if rng.random() < 0.66 + fit + (0.06 if (lead.agreement_version or 0) >= 2 else 0):
                services.lead_accept(lead_id=lead.pk, actor=lead.owner)
                if rng.random() < 0.1:
                    self.push(self.later(action.at, hours=0.5), "note", action.lead_index, side="sales")
                for n in range(rng.choice([1, 2, 3, 3, 4, 5])):
                    self.push(
                        self.later(action.at, days=0.5 + n * rng.uniform(0.5, 2.5)),
                        "touch",
                        action.lead_index,
                    )
                self.push(self.later(action.at, days=rng.uniform(7, 40)), "outcome", action.lead_index)
            else:
                services.lead_reject(
                    lead_id=lead.pk,
                    actor=lead.owner,
                    reason=rng.choice(self.reasons[ReasonKind.REJECTION]),
                    note=rng.choice(
                        [
                            "",
                            "",
                            "Spoke to them: no project this year.",
                            "Wrong contact, try their COO.",
                            "Student, not a buyer.",
                        ]
                    ),
                )
                if rng.random() < 0.35:
                    self.push(self.later(action.at, days=rng.uniform(5, 25)), "qualify", action.lead_index)
        elif kind == "touch":
            lead = self.lead(action)
            if lead.stage != Stage.SQL:
                return
            services.touch_log(
                lead_id=lead.pk,
                actor=lead.owner,
                kind=rng.choice(TouchKind.values),
                outcome=rng.choice(TouchOutcome.values),
            )
        elif kind == "outcome":
            lead = self.lead(action)
            if lead.stage != Stage.SQL:
                return
            roll = rng.random()
            if roll < 0.2:
                services.lead_win(
                    lead_id=lead.pk,
                    actor=lead.owner,
                    amount=Decimal(rng.choice([4800, 9600, 12000, 18000, 24000, 36000, 60000])),
                    closed_on=timezone.localdate(),
                )
            elif roll < 0.72:
                services.lead_lose(
                    lead_id=lead.pk, actor=lead.owner, reason=rng.choice(self.reasons[ReasonKind.LOSS])
                )
            elif roll < 0.76:
                services.lead_disqualify(
                    lead_id=lead.pk,
                    actor=lead.owner,
                    reason=rng.choice(self.reasons[ReasonKind.DISQUALIFICATION]),
                )
            else:  # still being worked: decided later
                self.push(self.later(action.at, days=rng.uniform(10, 30)), "outcome", action.lead_index)
        elif kind == "note":
            lead = self.lead(action)
            if action.extra["side"] == "marketing":
                author, mentioned, text = lead.qualified_by, lead.owner, rng.choice(HANDOFF_NOTES)
            else:
                author, mentioned, text = lead.owner, lead.qualified_by, rng.choice(SALES_NOTES)
            if author is not None and mentioned is not None:
                lead_note_add(lead_id=lead.pk, actor=author, text=f"@{mentioned.username} {text}")
        elif kind == "refer_known":
            # A colleague refers someone marketing already knows: the tip is attached to the
            # lead (and credited if nobody was), not lost.
            lead = self.lead(action)
            referral_submit(
                referrer=rng.choice(self.referrers),
                email=lead.email,
                context=rng.choice(REFERRAL_NEEDS),
                first_name=lead.first_name,
                last_name=lead.last_name,
            )
        elif kind in ("agreement_review", "agreement_proposal", "confirm"):
            self.agreement(kind, action)
        elif kind == "disqualify":
            lead = self.lead(action)
            if lead.stage != Stage.LEAD:
                return
            services.lead_disqualify(
                lead_id=lead.pk,
                actor=rng.choice(self.marketers),
                reason=rng.choice(self.reasons[ReasonKind.DISQUALIFICATION]),
            )

    def agreement(self, kind: str, action: Action):
        """Versions of the agreement, proposed and confirmed through the real services."""
        marketing, sales = self.users["manager.marketing"], self.users["manager.sales"]
        if kind == "confirm":
            versions.version_confirm(
                actor=self.users[action.extra["who"]], number=versions.version_proposed().number
            )
            return
        if kind == "agreement_review":
            team = Team.objects.get(name="Marketing")
            versions.agreement_propose(
                actor=marketing,
                op="commitment_update",
                team_id=team.pk,
                min_mqls=self.commitment[1],
                min_acceptance_percent=65,
            )
            versions.agreement_propose(actor=marketing, op="sla_policy_save", **DEMO_HOT_POLICY)
            versions.agreement_propose(
                actor=marketing,
                op="reason_save",
                kind=ReasonKind.REJECTION,
                label=DEMO_REASON,
                description="They buy through a reseller: route to the partner team.",
                loss_outcome="",
                is_active=True,
                position=20,
            )
            proposer, note = (
                marketing,
                (
                    "Quarterly review: sales answers hot MQLs within 2 business hours; marketing "
                    f"delivers {self.commitment[1]} MQLs a week with 65 % accepted; a reason for leads that buy "
                    "through partners."
                ),
            )
        else:
            definition = ScoringDefinition.current()
            versions.agreement_propose(
                actor=sales,
                op="scoring_definition_update",
                threshold=definition.threshold + 10,
                auto_qualify=definition.auto_qualify,
                decay_half_life_days=definition.decay_half_life_days,
            )
            proposer, note = (
                sales,
                ("Too many MQLs just over the threshold are rejected for bad timing: raise it by 10 points."),
            )
        number = versions.version_proposed().number
        versions.version_note_update(actor=proposer, number=number, note=note)
        versions.version_confirm(actor=proposer, number=number)

    def create(self, action: Action):
        rng, fake = self.rng, self.fake
        first, last = fake.first_name(), fake.last_name()
        company = fake.company()
        domain = _ascii(company.split(",")[0].split(" ")[0]).lower() or "example"
        email = f"{_ascii(first).lower()}.{_ascii(last).lower()}.{action.lead_index}@{domain}.example"
        referral = rng.random() < 0.03
        campaign = None
        if referral:
            source = Source.REFERRAL
        elif rng.random() < 0.7:
            campaign, source, _ = rng.choices(self.campaigns, weights=[c[2] for c in self.campaigns])[0]
        else:
            source = rng.choice([Source.WEBSITE, Source.ORGANIC_SEARCH, Source.SOCIAL, Source.LIST_IMPORT])
        profile = {
            "first_name": first,
            "last_name": last,
            "company": company,
            "job_title": rng.choice(TITLES) if rng.random() > 0.08 else "",
            "company_size": rng.choice(SIZES),
            "country": rng.choice(COUNTRIES),
            "phone": fake.numerify("+49 30 #######") if rng.random() < 0.7 else "",
        }
        if referral:
            lead = referral_submit(
                referrer=rng.choice(self.referrers),
                email=email,
                context=rng.choice(REFERRAL_NEEDS),
                **{key: profile[key] for key in ("first_name", "last_name", "company", "phone", "job_title")},
            ).lead
        else:
            # Form sign-ups and campaign landing pages asked for consent (no random number
            # drawn for it: the rest of the demo stays as it was).
            asked = campaign is not None or source in DEMO_CONSENT_SOURCES
            answer = {"consent": Consent.GIVEN, "consent_wording": DEMO_CONSENT_WORDING}
            lead = services.lead_create(
                actor=rng.choice(self.marketers),
                email=email,
                source=source,
                campaign=campaign,
                via="demo",
                consent=services.consent_clean(answer, method=ConsentMethod.FORM) if asked else None,
                **profile,
            )
        self.lead_ids[action.lead_index] = lead.pk
        if action.lead_index > 50 and rng.random() < 0.01:  # someone refers a person already known
            known = rng.randrange(0, action.lead_index - 1)
            if known in self.lead_ids:
                self.push(self.later(action.at, days=rng.uniform(0.5, 5)), "refer_known", known)
        engagements = rng.choice([0, 1, 1, 2, 2, 3, 4])
        for n in range(engagements):
            hours = rng.uniform(0.05, 2) if n == 0 else rng.uniform(2, 120)
            self.push(action.at + dt.timedelta(hours=hours), "engage", action.lead_index)
        fit = 0.12 if profile["company_size"] >= 200 and "V" in profile["job_title"][:2] else 0.0
        if engagements and profile["job_title"] and (referral or rng.random() < 0.41):
            self.push(self.later(action.at, days=rng.uniform(0.3, 9)), "qualify", action.lead_index, fit=fit)
        elif rng.random() < 0.06:
            self.push(self.later(action.at, days=rng.uniform(1, 20)), "disqualify", action.lead_index)

    # --- reset and summary ---------------------------------------------------------------------

    @transaction.atomic
    def reset(self):
        """Delete the product's data and the demo users.

        LeadEvent's own manager refuses to delete (the log is immutable in the product);
        wiping a demo database is the one deliberate exception, done through the plain
        base manager so no application code path can do it by accident.
        """
        PrivacyAudit.objects.all().delete()
        RetentionRun.objects.all().delete()
        Notification.objects.all().delete()
        Referral.objects.all().delete()
        Clock.objects.all().delete()
        EnforcementRun.objects.all().delete()
        LeadEvent._base_manager.all()._raw_delete(using="default")
        Touch.objects.all().delete()
        Engagement.objects.all().delete()
        Lead.objects.update(merged_into=None)
        Lead.objects.all().delete()
        Campaign.objects.all().delete()
        Team.objects.all().delete()
        # What the demo's agreement versions added, so that seeding again adds it again.
        AgreementVersion.objects.all().delete()
        SlaPolicy.objects.filter(name=DEMO_HOT_POLICY["name"]).delete()
        Reason.objects.filter(kind=ReasonKind.REJECTION, label=DEMO_REASON).delete()
        get_user_model().objects.filter(username__in=DEMO_USERNAMES).delete()
        self.stdout.write("Deleted the existing product data.")

    def summary(self, seconds: float):
        stages = dict.fromkeys(Stage.values, 0)
        stages.update(Lead.objects.live().values_list("stage").annotate(n=Count("id")).order_by())
        counted = dict.fromkeys(("qualified", "accepted", "rejected", "won", "lost"), 0)
        counted.update(
            LeadEvent.objects.filter(type__in=list(counted))
            .values_list("type")
            .annotate(n=Count("id"))
            .order_by()
        )
        responses = counted["accepted"] + counted["rejected"]
        outcomes = counted["won"] + counted["lost"]
        created = sum(stages.values())
        qualified_leads = Lead.objects.filter(events__type="qualified").distinct().count()
        self.stdout.write(self.style.SUCCESS(f"Seeded {created:,} leads in {seconds:.0f} s"))
        self.stdout.write("  now in each stage: " + ", ".join(f"{k} {v:,}" for k, v in stages.items()))
        self.stdout.write(
            f"  lead→MQL {qualified_leads / max(created, 1):.0%}, "
            f"acceptance {counted['accepted'] / max(responses, 1):.0%} of {responses:,} responses, "
            f"win rate {counted['won'] / max(outcomes, 1):.0%} of {outcomes:,} outcomes, "
            f"breaches recorded {Clock.objects.filter(breached_at__isnull=False).count():,}, "
            f"events {LeadEvent.objects.count():,}"
        )


def _ascii(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() if c.isalnum()
    )
