"""Smarketing under a realistic mix of people, for `scripts/load.py` (or locust by hand).

    .venv/bin/locust -f scripts/load/locustfile.py --host http://127.0.0.1:8000 \
        --headless -u 50 -r 10 -t 60s

Against the demo organisation (`manage.py seed_demo`, password `smarketing-demo`). Four
personas, weighted like a working day (with 50 users: 20 reps, 15 marketers, 5 managers,
10 API clients), each waiting 1-3 s between actions (LOAD_WAIT_MIN, LOAD_WAIT_MAX):

* Reps work their queue in the browser: the home page (queue and SQLs), a lead's page,
  accept an MQL with the queue's quick form (CSRF, htmx), reject one through the API
  (session + X-CSRFToken), log a touch on an SQL (page form), the inbox.
* Marketers search and filter the lead list, read leads, hand a ready lead to sales
  (lead page form), read their hand-offs (page and API), and create leads through the API
  with a token (an integration).
* Managers read the dashboard, the SLA page, the agreement and their team's work list.
* API clients page through GET /api/leads/ by its cursor, filter, read leads and histories.

Each demo login logs in once with the login form (CSRF) and the locust users sharing it use
that session, as tabs of one browser would; LOAD_LOGIN_EACH=1 makes every user log in.

Writes are valid when sent: an accept or reject is for an MQL in the rep's own queue at
the version shown; a touch is for one of the rep's SQLs; a hand-off is for a lead whose page
offers the hand-off with the gate met. Several locust users share one demo login (there are
six reps), and the worker's SLA enforcement reassigns overdue MQLs, so two of them can race
for the same lead: the loser gets 409 (stale version or wrong stage) or 403 (no longer the
owner). Such a refusal counts as a success only when the lead really moved on (409, or a 403
after which the lead is no longer that rep's MQL/SQL); everything else is a failure. The
races are counted and written with the 5xx count to $LOAD_EXTRA_JSON at the end.
"""

# ruff: noqa: S311 - random picks of what a person clicks, nothing secret

from __future__ import annotations

import copy
import itertools
import json
import os
import random
import re
import uuid
from collections import Counter, defaultdict

from gevent.lock import Semaphore
from locust import HttpUser, between, events, task

PASSWORD = os.environ.get("LOAD_PASSWORD", "smarketing-demo")
# Default: each demo login logs in once with the form and the locust users sharing that
# login use its session (one person, several tabs: nobody logs in 50 times a minute).
# LOAD_LOGIN_EACH=1: every locust user logs in itself (the 9 a.m. rush; each login costs
# a PBKDF2 hash, about half a CPU second).
LOGIN_EACH = os.environ.get("LOAD_LOGIN_EACH", "") not in ("", "0")
THINK_TIME = between(float(os.environ.get("LOAD_WAIT_MIN", "1")), float(os.environ.get("LOAD_WAIT_MAX", "3")))

REPS = itertools.cycle(["rep", "rep2", "rep3", "rep4", "rep5", "rep6"])
MARKETERS = itertools.cycle(["marketer", "marketer2", "marketer3", "marketer4"])
MANAGERS = itertools.cycle(["manager.sales", "manager.marketing"])
API_CLIENTS = itertools.cycle(["technician", "admin"])

SEARCH_TERMS = [
    "smith",
    "johnson",
    "williams",
    "garcia",
    "inc",
    "llc",
    "group",
    "webinar",
    "seminar",
    "google ads",
    "vp sales",
    "example",
]
LIST_FILTERS = [
    "stage=mql",
    "stage=sql",
    "stage=lead&recycled=true",
    "source=event&score_band=hot",
    "score_band=warm&sort=score",
    "segment=enterprise",
    "sort=stage_change",
    "stage=customer&sort=company",
]
API_FILTERS = [
    "stage=sql&ordering=-score",
    "stage=mql",
    "source=webinar&page_size=100",
    "q=smith",
    "recycled=true",
    "ordering=last_name",
]
DASHBOARD_FILTERS = ["source=event", "segment=mid", "source=paid_search&segment=enterprise"]
TOUCH_KINDS = ["call", "email", "meeting"]
TOUCH_OUTCOMES = ["connected", "left_message", "no_answer", "replied", "meeting_booked"]

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ACTION_FORM = re.compile(r'<form[^>]*action="/leads/(\d+)/act/(\w+)/"[^>]*>(.*?)</form>', re.S)
VERSION_INPUT = re.compile(r'name="version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="version"')
OPTION = re.compile(r'<option value="(\d+)"')
LEAD_LINK = re.compile(r'href="/leads/(\d+)/"')

RACES: Counter = Counter()  # expected refusals by action: two users (or the worker) won the race
SERVER_ERRORS: Counter = Counter()  # 5xx responses by request name


@events.request.add_listener
def _count_5xx(request_type, name, response=None, **_):
    status = getattr(response, "status_code", 0) or 0
    if status >= 500:
        SERVER_ERRORS[f"{request_type} {name}"] += 1


@events.test_stop.add_listener
def _write_extra(**_):
    path = os.environ.get("LOAD_EXTRA_JSON")
    if path:
        with open(path, "w") as out:
            json.dump({"races": dict(RACES), "server_errors": dict(SERVER_ERRORS)}, out, indent=2)


_tokens: dict[str, str] = {}
_token_lock = Semaphore()
_sessions: dict[str, list] = {}  # demo login -> its session's cookies
_session_locks: defaultdict[str, Semaphore] = defaultdict(Semaphore)


def action_forms(html: str, action: str) -> list[tuple[int, str]]:
    """(lead id, form body) of every `action` form on a page."""
    return [(int(lead), body) for lead, name, body in ACTION_FORM.findall(html) if name == action]


def form_version(body: str) -> int | None:
    match = VERSION_INPUT.search(body)
    return int(match.group(1) or match.group(2)) if match else None


class Person(HttpUser):
    abstract = True
    wait_time = THINK_TIME
    username = ""

    # --- sessions ---------------------------------------------------------------------------

    def login(self) -> None:
        """Log in with the form, or take the session of the demo login's first user."""
        if LOGIN_EACH:
            self.form_login()
            return
        with _session_locks[self.username]:
            if self.username not in _sessions:
                if self.form_login():
                    _sessions[self.username] = [copy.copy(cookie) for cookie in self.client.cookies]
                return
        for cookie in _sessions.get(self.username, []):
            self.client.cookies.set_cookie(copy.copy(cookie))

    def form_login(self) -> bool:
        """The login form: GET it for the CSRF cookie, POST it, expect the redirect home."""
        page = self.client.get("/login/", name="/login/")
        with self.client.post(
            "/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.page_csrf(page.text),
                "next": "/",
            },
            headers={"Referer": f"{self.host}/login/"},
            name="/login/",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 302 and "/login/" not in response.headers.get("Location", ""):
                response.success()
                return True
            response.failure(f"login of {self.username} refused: {response.status_code}")
            return False

    def page_csrf(self, html: str = "") -> str:
        """The token of the page's forms (what a browser sends), else the cookie's secret."""
        match = CSRF_INPUT.search(html or "")
        return match.group(1) if match else self.client.cookies.get("csrftoken", "")

    def api_headers(self) -> dict:
        """Session-authenticated API writes send the CSRF cookie back in a header."""
        return {"X-CSRFToken": self.client.cookies.get("csrftoken", ""), "Referer": f"{self.host}/"}

    def token_headers(self) -> dict:
        """An API token per demo login, fetched once and shared (like one integration).
        Fetch it before logging in: with a session cookie the token endpoint wants CSRF."""
        with _token_lock:
            if self.username not in _tokens:
                with self.client.post(
                    "/api/auth/token/",
                    json={"username": self.username, "password": PASSWORD},
                    name="/api/auth/token/",
                    catch_response=True,
                ) as response:
                    if response.status_code == 201:
                        _tokens[self.username] = response.json()["token"]
                    else:
                        response.failure(f"no token for {self.username}: {response.status_code}")
        token = _tokens.get(self.username)
        return {"Authorization": f"Token {token}"} if token else {}

    # --- races ----------------------------------------------------------------------------------

    def settle_refusal(self, response, action: str, lead_id: int, still_mine: tuple[str, ...]) -> None:
        """A refused write is fine when the lead moved on under us (another user of the same
        login, or the worker's SLA enforcement): 409, or 403 once the lead is no longer ours
        in the stage we acted on. Anything else is a real error."""
        if response.status_code == 409:
            RACES[action] += 1
            response.success()
            return
        if response.status_code == 403:
            lead = self.client.get(f"/api/leads/{lead_id}/", name="/api/leads/[id]/ (recheck)")
            if lead.status_code == 200:
                data = lead.json()
                owner = (data.get("owner") or {}).get("username")
                if owner != self.username or data.get("stage") not in still_mine:
                    RACES[action] += 1
                    response.success()
                    return
        response.failure(f"{action} of lead {lead_id}: {response.status_code} {response.text[:300]}")


class Rep(Person):
    """A sales rep working their queue in the browser."""

    weight = 4

    def on_start(self):
        self.username = next(REPS)
        self.queue: list[tuple[int, int, str]] = []  # MQLs: (lead, version, csrf of the form)
        self.sqls: list[tuple[int, str]] = []
        self.reasons: list[int] = []
        self.login()
        self.home()

    @task(4)
    def home(self):
        page = self.client.get("/", name="/ (rep home)")
        if page.status_code != 200:
            return
        html = page.text
        self.queue = []
        for lead, body in action_forms(html, "accept"):
            version = form_version(body)
            if version:
                self.queue.append((lead, version, self.page_csrf(body)))
        self.sqls = [(lead, self.page_csrf(body)) for lead, body in action_forms(html, "touch")]
        rejects = action_forms(html, "reject")
        if rejects:
            self.reasons = [int(r) for r in OPTION.findall(rejects[0][1])]

    @task(3)
    def lead_page(self):
        known = [lead for lead, *_ in self.queue] + [lead for lead, _ in self.sqls]
        if known:
            self.client.get(f"/leads/{random.choice(known)}/", name="/leads/[id]/")

    @task(3)
    def accept(self):
        """The queue's Accept button (htmx): the row is replaced by the result."""
        if not self.queue:
            return
        lead, version, csrf = self.queue.pop(random.randrange(len(self.queue)))
        with self.client.post(
            f"/leads/{lead}/act/accept/",
            data={"csrfmiddlewaretoken": csrf, "version": version},
            headers={"HX-Request": "true", "Referer": f"{self.host}/"},
            name="/leads/[id]/act/accept/",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                self.sqls.append((lead, csrf))
            else:
                self.settle_refusal(response, "accept", lead, ("mql",))

    @task(1)
    def reject(self):
        """Send an MQL back with an agreed reason, through the API from the browser session."""
        if not self.queue or not self.reasons:
            return
        lead, version, _ = self.queue.pop(random.randrange(len(self.queue)))
        with self.client.post(
            f"/api/leads/{lead}/reject/",
            json={"reason": random.choice(self.reasons), "version": version, "note": "Load test: not now."},
            headers=self.api_headers(),
            name="/api/leads/[id]/reject/",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                self.settle_refusal(response, "reject", lead, ("mql",))

    @task(3)
    def touch(self):
        """Log a call or email on one of my SQLs with the quick form on the home page."""
        if not self.sqls:
            return
        lead, csrf = random.choice(self.sqls)
        with self.client.post(
            f"/leads/{lead}/act/touch/",
            data={
                "csrfmiddlewaretoken": csrf,
                "kind": random.choice(TOUCH_KINDS),
                "outcome": random.choice(TOUCH_OUTCOMES),
                "note": "Load test touch.",
            },
            headers={"HX-Request": "true", "Referer": f"{self.host}/"},
            name="/leads/[id]/act/touch/",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                self.sqls = [s for s in self.sqls if s[0] != lead]
                self.settle_refusal(response, "touch", lead, ("sql",))

    @task(1)
    def inbox(self):
        self.client.get("/inbox/", name="/inbox/")


class Marketer(Person):
    """A marketer: finds and reads leads, hands ready ones to sales, creates leads by API."""

    weight = 3

    def on_start(self):
        self.username = next(MARKETERS)
        self.seen: list[int] = []
        self.token_headers()  # the integration's token, before the browser session exists
        self.login()

    def remember(self, html: str) -> None:
        found = [int(lead) for lead in LEAD_LINK.findall(html)]
        if found:
            self.seen = found[:50]

    @task(1)
    def home(self):
        self.client.get("/", name="/ (marketer home)")

    @task(4)
    def search(self):
        page = self.client.get(f"/leads/?q={random.choice(SEARCH_TERMS)}", name="/leads/?q=[term]")
        self.remember(page.text)

    @task(3)
    def filter_list(self):
        page = self.client.get(f"/leads/?{random.choice(LIST_FILTERS)}", name="/leads/?[filters]")
        self.remember(page.text)

    @task(3)
    def lead_page(self):
        if self.seen:
            self.client.get(f"/leads/{random.choice(self.seen)}/", name="/leads/[id]/")

    @task(2)
    def hand_off(self):
        """Pick a warm or hot lead, open its page; if the page offers the hand-off with the
        gate met, send its form (the version shown, a note for sales)."""
        band = random.choice(["hot", "warm"])
        found = self.client.get(
            f"/api/leads/?stage=lead&score_band={band}&ordering=-score&page_size=25",
            headers=self.token_headers(),
            name="/api/leads/?stage=lead&score_band=[band]",
        )
        if found.status_code != 200 or not found.json().get("results"):
            return
        lead = random.choice(found.json()["results"])["id"]
        page = self.client.get(f"/leads/{lead}/", name="/leads/[id]/")
        forms = action_forms(page.text, "qualify") if page.status_code == 200 else []
        if not forms or 'id="gate-missing"' in page.text:
            return
        body = forms[0][1]
        with self.client.post(
            f"/leads/{lead}/act/qualify/",
            data={
                "csrfmiddlewaretoken": self.page_csrf(body),
                "version": form_version(body),
                "note": "Load test: asked for a demo, budget confirmed.",
            },
            headers={"Referer": f"{self.host}/leads/{lead}/"},
            name="/leads/[id]/act/qualify/",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 302:
                response.success()
            else:
                self.settle_refusal(response, "qualify", lead, ("lead",))

    @task(2)
    def create_lead(self):
        """An integration posting a new lead with the marketer's API token."""
        unique = uuid.uuid4().hex[:12]
        with self.client.post(
            "/api/leads/",
            json={
                "email": f"load-{unique}@example.org",
                "first_name": "Load",
                "last_name": f"Test {unique[:6]}",
                "company": f"Loadtest {unique[:4]} GmbH",
                "job_title": random.choice(["VP Sales", "CMO", "Head of Growth"]),
                "company_size": random.choice([25, 120, 1500]),
                "country": random.choice(["DE", "AT", "GB"]),
                "source": random.choice(["website", "webinar", "event", "paid_search"]),
            },
            headers=self.token_headers(),
            name="/api/leads/",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"create: {response.status_code} {response.text[:300]}")

    @task(2)
    def handoffs_page(self):
        self.client.get("/handoffs/", name="/handoffs/")

    @task(1)
    def handoffs_api(self):
        self.client.get("/api/handoffs/", headers=self.token_headers(), name="/api/handoffs/")


class Manager(Person):
    """A sales or marketing manager preparing the weekly meeting."""

    weight = 1

    def on_start(self):
        self.username = next(MANAGERS)
        self.login()

    @task(4)
    def dashboard(self):
        self.client.get("/reports/", name="/reports/")

    @task(1)
    def dashboard_filtered(self):
        self.client.get(f"/reports/?{random.choice(DASHBOARD_FILTERS)}", name="/reports/?[filters]")

    @task(3)
    def sla(self):
        self.client.get("/sla/", name="/sla/")

    @task(2)
    def agreement(self):
        self.client.get("/agreement/", name="/agreement/")

    @task(2)
    def team(self):
        self.client.get("/team/", name="/team/")

    @task(1)
    def drill_down(self):
        self.client.get(f"/leads/?{random.choice(LIST_FILTERS)}", name="/leads/?[filters]")


class ApiClient(Person):
    """A reporting tool reading the API with a token: pages through leads by the cursor."""

    weight = 2

    def on_start(self):
        self.username = next(API_CLIENTS)
        self.ids: list[int] = []

    @task(5)
    def page_through(self):
        headers = self.token_headers()
        response = self.client.get("/api/leads/", headers=headers, name="/api/leads/")
        for _ in range(random.randint(0, 4)):
            if response.status_code != 200:
                return
            body = response.json()
            self.ids = [lead["id"] for lead in body.get("results", [])] or self.ids
            if not body.get("next"):
                return
            response = self.client.get(body["next"], headers=headers, name="/api/leads/?cursor=[next]")

    @task(2)
    def filtered(self):
        self.client.get(
            f"/api/leads/?{random.choice(API_FILTERS)}",
            headers=self.token_headers(),
            name="/api/leads/?[filters]",
        )

    @task(2)
    def lead(self):
        if self.ids:
            self.client.get(
                f"/api/leads/{random.choice(self.ids)}/",
                headers=self.token_headers(),
                name="/api/leads/[id]/",
            )

    @task(1)
    def events(self):
        if self.ids:
            self.client.get(
                f"/api/leads/{random.choice(self.ids)}/events/",
                headers=self.token_headers(),
                name="/api/leads/[id]/events/",
            )

    @task(1)
    def reference(self):
        paths = ["/api/reasons/", "/api/agreement/", "/api/me/"]
        if self.username != "technician":  # campaigns are for product roles; the technician has none
            paths.append("/api/campaigns/")
        path = random.choice(paths)
        self.client.get(path, headers=self.token_headers(), name=path)
