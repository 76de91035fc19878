#!/usr/bin/env python3
"""Smarketing on several machines, on loopback: two web servers behind nginx, two Celery
workers, two beats, one PostgreSQL, one Redis.

    python3 scripts/multinode.py [--leads 200] [--stream-seconds 14] [--import-rows 2000]

A fresh database (`smarketing_multinode`, dropped first and afterwards) and Redis db 11;
migrated once, with the demo organisation. Every process has a SMARKETING_VAR_DIR of its
own, as separate machines would: nothing is shared but PostgreSQL and Redis (where the
machine allows it, workers and beats run in mount namespaces in which the web nodes'
folders are empty, so not even an absolute path reaches node A's disk). Debian's nginx
(`apt-get install nginx`) runs deploy/nginx.conf — the file docker-compose.yml uses — with
its upstream rewritten to the two nodes, as the current user, from a temp folder. Then:

1. **probes**: /healthz and /readyz answer on each node and through the proxy; /metrics
   is refused without SMARKETING_METRICS_TOKEN and served with it (each node's gunicorn
   workers in one scrape: PROMETHEUS_MULTIPROC_DIR, as docker-compose.yml sets it).
2. **an import uploaded through node A** is run by a worker that never saw A's disk: the
   job finishes with the right counts, and A's var folder holds no CSV afterwards.
3. **hand-offs through both nodes**: a session logged in on node A is valid on node B;
   one API token on either node and the proxy; each hand-off recorded once, each rep
   notified once.
4. **a breach under two beats and two workers**: a response clock due in the past is
   recorded breached once, its people notified once and emailed once.
5. **a web node and a worker killed** (SIGKILL, their whole process group) in the middle of
   a stream of reads and hand-offs through the proxy: the proxy keeps answering, every
   acknowledged hand-off is in the database, none is recorded twice.

Prints the figures as JSON and exits 1 when any promise is broken. About 1.5 to 2.5 minutes
(most of it creating and seeding the database; collecting the static files once more
when scripts/load.py's cache of them is missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pwd
import random
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import load  # noqa: E402 - its cache of collected static files

DATABASE = "smarketing_multinode"
BROKER_DB = 11
CACHE_DB = 10  # the rate limits' counters, shared by every node (CACHE_URL)
NGINX_CONF = harness.ROOT / "deploy" / "nginx.conf"
READY_LEADS = (
    "SELECT id FROM leads_lead WHERE stage = 'lead' AND merged_into_id IS NULL AND recycle_count = 0 "
    "AND company <> '' AND job_title <> '' AND first_name <> '' AND last_name <> '' "
    "AND id IN (SELECT lead_id FROM leads_engagement) ORDER BY id"
)


# --- bookkeeping -------------------------------------------------------------------------------


class Verdicts:
    """Every promise checked, in order; a broken one is printed and remembered, the run goes on."""

    def __init__(self) -> None:
        self.broken: list[str] = []

    def check(self, condition: bool, promise: str, detail: str = "") -> bool:
        if condition:
            print(f"   ok: {promise}", flush=True)
        else:
            self.broken.append(promise + (f" ({detail})" if detail else ""))
            print(f"   \033[31mBROKEN: {promise}\033[0m" + (f" — {detail}" if detail else ""), flush=True)
        return condition

    def note(self, text: str) -> None:
        print(f"   note: {text}", flush=True)


def sql(query: str) -> str:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DATABASE, "-tAc", query],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"psql: {out.stderr.strip()[:300]} in: {query[:200]}")
    return out.stdout.strip()


def sql_int(query: str) -> int:
    return int(sql(query) or 0)


def wait_for(check, seconds: float, interval: float = 0.5):
    """`check()` until it returns something true, or None after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result or None
        time.sleep(interval)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 itself is the answer: it carries the session cookie


def _cookies(headers, jar: dict[str, str]) -> None:
    for header in headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]


def session_login(base: str, username: str) -> dict[str, str]:
    """Log in with the login form (CSRF and all); the cookies it leaves."""
    jar: dict[str, str] = {}
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(f"{base}/login/", timeout=10) as page:
        _cookies(page.headers, jar)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
    form = urllib.parse.urlencode(
        {"username": username, "password": harness.DEMO_PASSWORD, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{base}/login/",
        data=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
            "Referer": f"{base}/login/",
        },
    )
    try:
        with opener.open(request, timeout=10) as answer:
            _cookies(answer.headers, jar)
    except urllib.error.HTTPError as answer:  # the 302 after a successful login
        _cookies(answer.headers, jar)
    return jar


# --- machines on one machine -------------------------------------------------------------------


def hiding(folders: list[Path]) -> list[str]:
    """A wrapper running a command in a mount namespace of its own where each of `folders` is
    an empty tmpfs: a worker "on another machine" cannot read node A's disk, not even by an
    absolute path that a job row names. [] where this machine does not allow it (mount
    namespaces need root or CAP_SYS_ADMIN): the folders are then separate but visible."""
    unshare = shutil.which("unshare")
    command = [unshare, "--mount", "--propagation", "private"] if unshare else []
    if not command or subprocess.run([*command, "true"], capture_output=True).returncode:
        return []
    mounts = " && ".join(f"mount -t tmpfs -o size=1m elsewhere {shlex.quote(str(f))}" for f in folders)
    return [*command, "sh", "-c", f'{mounts} && exec "$@"', "sh"]


# --- nginx ---------------------------------------------------------------------------------------


def nginx_config(folder: Path, port: int, nodes: list[int]) -> Path:
    """deploy/nginx.conf with its upstream pointed at `nodes` and listening on `port`, inside
    a main config that keeps pid, logs and temp files in `folder`."""
    site = NGINX_CONF.read_text()
    servers = "\n".join(f"    server 127.0.0.1:{node} max_fails=1 fail_timeout=10s;" for node in nodes)
    site, upstreams = re.subn(r"^\s*server web:8000\b[^;]*;", servers, site, flags=re.M)
    site, listens = re.subn(r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{port};", site, flags=re.M)
    if upstreams != 1 or listens != 1:
        raise SystemExit(f"{NGINX_CONF} no longer has one `server web:8000 …;` and one `listen 80;` line")
    (folder / "site.conf").write_text(site)
    user = pwd.getpwuid(os.geteuid()).pw_name
    temp = "\n".join(
        f"    {kind}_temp_path {folder / 'temp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (folder / "temp").mkdir(exist_ok=True)
    main = f"""# Generated by scripts/multinode.py
{"user " + user + ";" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 2;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections 512; }}
http {{
    log_format upstream '$msec $status "$upstream_addr" "$upstream_status" $request_method $request_uri';
    access_log {folder / "access.log"} upstream;
{temp}
    add_header X-Upstream $upstream_addr always;  # which node answered (this run only)
    include {folder / "site.conf"};
}}
"""
    conf = folder / "nginx.conf"
    conf.write_text(main)
    return conf


def nginx_access(folder: Path) -> dict:
    """What nginx saw: answers per status class, and requests it had to try on a second node."""
    classes: dict[str, int] = {}
    retried = 0
    path = folder / "access.log"
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        parts = line.split(" ")
        if len(parts) < 3:
            continue
        classes[parts[1][0] + "xx"] = classes.get(parts[1][0] + "xx", 0) + 1
        if ", " in line.split('"')[1]:
            retried += 1
    return {"status_classes": classes, "retried_on_another_node": retried}


# --- the scenarios ----------------------------------------------------------------------------


class Cluster:
    def __init__(
        self, proxy: str, a: str, b: str, var: dict[str, Path], processes: harness.Processes
    ) -> None:
        self.proxy, self.a, self.b, self.var, self.processes = proxy, a, b, var, processes
        self.procs: dict[str, object] = {}


def probes(cluster: Cluster, verdicts: Verdicts, metrics_token: str) -> dict:
    harness.say("Probes: /healthz and /readyz on each node and through the proxy; /metrics behind its token")
    seen = {}
    for name, base in (("node A", cluster.a), ("node B", cluster.b), ("proxy", cluster.proxy)):
        for path in ("/healthz", "/readyz"):
            status, _, _ = harness.http(base, "GET", path)
            seen[f"{name} {path}"] = status
            verdicts.check(status == 200, f"{path} answers 200 on {name}", f"got {status}")
    status, _, _ = harness.http(cluster.proxy, "GET", "/metrics")
    seen["/metrics without token"] = status
    verdicts.check(status in (401, 403), "/metrics refuses a request without the token", f"got {status}")
    status, body, _ = harness.http(
        cluster.proxy, "GET", "/metrics", headers={"Authorization": f"Bearer {metrics_token}"}
    )
    seen["/metrics with token"] = status
    verdicts.check(status == 200, "/metrics answers with SMARKETING_METRICS_TOKEN (Bearer)", f"got {status}")
    verdicts.check(
        status == 200 and "smarketing_http_request_duration_seconds" in str(body),
        "/metrics shows the request timings of the node's gunicorn workers (PROMETHEUS_MULTIPROC_DIR)",
    )
    return seen


def import_through_a(cluster: Cluster, verdicts: Verdicts, marketer: str, rows: int) -> dict:
    harness.say(f"An import of {rows:,} rows uploaded to node A, run by a worker on another machine")
    bad, dupes = 3, 2
    good = rows - bad - dupes
    run = uuid.uuid4().hex[:8]
    lines = ["Email,First name,Last name,Company,Job title"]
    lines += [
        f"mn-{run}-{i}@import.example.com,Ada{i},Lovelace,Multinode GmbH,Head of Ops" for i in range(good)
    ]
    lines += [f"not-an-email-{i},Bad,Row,Multinode GmbH,Nobody" for i in range(bad)]
    lines += [f"mn-{run}-{i}@import.example.com,Again,Twice,Multinode GmbH,Head of Ops" for i in range(dupes)]
    data, content_type = harness.multipart("file", f"multinode-{run}.csv", ("\n".join(lines) + "\n").encode())
    status, job, _ = harness.http(
        cluster.a, "POST", "/api/imports/", token=marketer, data=data, content_type=content_type
    )
    if not verdicts.check(status == 201, "node A accepts the upload", f"got {status}: {str(job)[:200]}"):
        return {"upload_status": status}
    job_id = job["id"]
    on_a = sorted(str(p) for p in cluster.var["web-a"].rglob("*.csv"))
    verdicts.check(
        not on_a, "the upload left no file on node A's disk (the workers could not read it)", f"{on_a[:2]}"
    )
    verdicts.check("email" in job.get("mapping", {}).values(), "the Email column is mapped automatically")
    status, started, _ = harness.http(
        cluster.a, "POST", f"/api/imports/{job_id}/start/", token=marketer, body={}
    )
    verdicts.check(status == 202, "node A starts the import", f"got {status}: {str(started)[:200]}")
    began = time.monotonic()

    def finished():
        # Polled through node B: the job's state lives in PostgreSQL, not on A.
        code, body, _ = harness.http(cluster.b, "GET", f"/api/imports/{job_id}/", token=marketer)
        return body if code == 200 and body.get("status") in ("done", "failed") else None

    final = (
        wait_for(finished, 90) or harness.http(cluster.b, "GET", f"/api/imports/{job_id}/", token=marketer)[1]
    )
    took = time.monotonic() - began
    state = final.get("status") if isinstance(final, dict) else None
    verdicts.check(state == "done", "the import finishes (status done, polled through node B)",
                   f"status {state!r}, error {final.get('error', '')[:200] if isinstance(final, dict) else final!r}")  # fmt: skip
    counts = (
        {k: final.get(f"{k}_count") for k in ("created", "updated", "skipped", "failed")} if state else {}
    )
    expected = {"created": good, "updated": 0, "skipped": dupes, "failed": bad}
    verdicts.check(counts == expected, f"its counts are right: {expected}", f"got {counts}")
    in_db = sql_int(f"SELECT count(*) FROM leads_lead WHERE email LIKE 'mn-{run}-%'")  # noqa: S608 - our own run id
    verdicts.check(in_db == good, f"{good:,} leads are in the database", f"found {in_db}")
    left = {name: sorted(str(p) for p in folder.rglob("*.csv")) for name, folder in cluster.var.items()}
    verdicts.check(not left["web-a"], "node A's var folder holds no CSV afterwards", f"{left['web-a'][:3]}")
    verdicts.check(not any(left.values()), "no var folder of any process holds a CSV",
                   "; ".join(f"{k}: {len(v)}" for k, v in left.items() if v))  # fmt: skip
    seconds = None
    if isinstance(final, dict) and final.get("started_at") and final.get("finished_at"):
        seconds = round(
            (_parse_time(final["finished_at"]) - _parse_time(final["started_at"])),
            2,
        )
    return {
        "job": job_id,
        "status": state,
        "counts": counts,
        "rows": rows,
        "seconds_until_done": round(took, 1),
        "run_seconds": seconds,
        "rows_per_second": round(rows / seconds) if seconds else None,
    }


def _parse_time(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def rate_limit_shared(cluster: Cluster, verdicts: Verdicts) -> dict:
    """One client's rate limit is counted once across the nodes (CACHE_URL on Redis): 70
    token requests from one address (as the proxy names it), alternating node A and node B,
    get at most the 60 a minute the limit allows, not 60 per node or per process."""
    client = {"X-Forwarded-For": "203.0.113.7"}  # a documentation address: no other step uses it
    answers = []
    for n in range(70):
        node = cluster.a if n % 2 == 0 else cluster.b
        status, _, _ = harness.http(
            node, "POST", "/api/auth/token/", body={"username": "marketer", "password": harness.DEMO_PASSWORD},
            headers=client,
        )  # fmt: skip
        answers.append(status)
    allowed, limited = answers.count(201), answers.count(429)  # 201: a token given
    verdicts.check(
        allowed <= 60 and limited >= 10 and allowed + limited == 70,
        "one client's rate limit holds across both nodes (at most 60 of 70 token requests a minute)",
        f"{allowed} allowed, {limited} refused with 429, others {sorted(set(answers) - {201, 429})}",
    )
    return {"requests": 70, "allowed": allowed, "refused_429": limited}


def handoffs_on_both(cluster: Cluster, verdicts: Verdicts, marketer: str, leads: list[int]) -> dict:
    harness.say(f"{len(leads)} hand-offs: alternately on node A, node B and through the proxy, one token")
    jar = session_login(cluster.a, "marketer")
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    status, me, _ = harness.http(cluster.b, "GET", "/api/me/", headers={"Cookie": cookie})
    verdicts.check(
        "sessionid" in jar and status == 200 and isinstance(me, dict) and me.get("username") == "marketer",
        "a session started on node A (the login form) is valid on node B",
        f"cookies {sorted(jar)}, node B answered {status}",
    )
    answered: dict[int, int] = {}
    where = {}
    for i, lead in enumerate(leads):
        base = (cluster.a, cluster.b, cluster.proxy)[i % 3]
        status, body, headers = harness.http(
            base, "POST", f"/api/leads/{lead}/qualify/", token=marketer, body={}
        )
        answered[lead] = status
        where[lead] = {
            cluster.a: "A",
            cluster.b: "B",
            cluster.proxy: "proxy→" + headers.get("X-Upstream", "?"),
        }[base]
    ok = [lead for lead, status in answered.items() if status == 200]
    verdicts.check(len(ok) == len(leads), f"all {len(leads)} hand-offs succeed, whichever node took them",
                   f"{ {lead: answered[lead] for lead in leads if answered[lead] != 200} }")  # fmt: skip
    ids = ",".join(map(str, leads))
    events = sql_int(f"SELECT count(*) FROM leads_leadevent WHERE type = 'qualified' AND lead_id IN ({ids})")  # noqa: S608
    verdicts.check(
        events == len(ok), "each is recorded once (one qualified event per lead)", f"{events} events"
    )

    def notified():
        n = sql_int(
            f"SELECT count(*) FROM leads_notification WHERE kind = 'mql_assigned' AND lead_id IN ({ids})"  # noqa: S608
        )
        return n if n >= len(ok) else None

    count = wait_for(notified, 30) or sql_int(
        f"SELECT count(*) FROM leads_notification WHERE kind = 'mql_assigned' AND lead_id IN ({ids})"  # noqa: S608
    )
    verdicts.check(count == len(ok), "each rep is notified once by a worker", f"{count} notifications")
    return {
        "handoffs": len(leads),
        "succeeded": len(ok),
        "notifications": count,
        "where": sorted(set(where.values())),
    }


def breach_once(cluster: Cluster, verdicts: Verdicts, lead: int) -> dict:
    harness.say("A response clock due a minute ago, under two beats and two workers (enforcement every 2 s)")
    clock = sql(
        f"SELECT id FROM sla_clock WHERE lead_id = {lead} AND obligation = 'response' "  # noqa: S608
        "AND met_at IS NULL AND breached_at IS NULL AND cancelled_at IS NULL"
    )
    if not verdicts.check(bool(clock), "the handed-off lead has a running response clock"):
        return {}
    since = sql("SELECT now()")
    sql(
        "UPDATE sla_clock SET started_at = now() - interval '2 minutes', "  # noqa: S608 - an id read from the database
        f"due_at = now() - interval '1 minute', warn_at = NULL WHERE id = {clock}"
    )
    breached = wait_for(
        lambda: sql(f"SELECT breached_at IS NOT NULL FROM sla_clock WHERE id = {clock}") == "t",  # noqa: S608
        30,
    )
    verdicts.check(bool(breached), "the breach is recorded")
    time.sleep(8)  # four more periods of both beats: nothing more may happen
    key = f"clock:{clock}"
    rows = sql(
        "SELECT count(*), count(DISTINCT recipient_id), count(emailed_at), coalesce(max(email_attempts), 0) "  # noqa: S608
        f"FROM leads_notification WHERE kind = 'sla_breach' AND dedupe_key = '{key}'"
    ).split("|")
    notes, recipients, emailed, attempts = (int(x) for x in rows)
    verdicts.check(notes >= 1 and notes == recipients, "each person is notified of the breach once",
                   f"{notes} notifications to {recipients} people")  # fmt: skip
    verdicts.check(emailed == notes and attempts <= 1, "each notification is emailed once",
                   f"{emailed} emailed of {notes}, at most {attempts} attempts")  # fmt: skip
    runs, recorded = (
        int(x or 0)
        for x in sql(
            f"SELECT count(*), sum(breached) FROM sla_enforcementrun WHERE started_at >= '{since}'"  # noqa: S608
        ).split("|")
    )
    detected = sql_int(
        f"SELECT count(*) FROM sla_clock WHERE breached_at >= '{since}' AND met_at IS NULL"  # noqa: S608
    )
    verdicts.check(recorded == detected, "every enforcement run together recorded each breach once",
                   f"runs counted {recorded} breaches, clocks breached since: {detected}")  # fmt: skip
    actions = sql_int(
        f"SELECT count(*) FROM leads_leadevent WHERE lead_id = {lead} "  # noqa: S608
        f"AND type IN ('reassigned', 'returned') AND occurred_at >= '{since}'"
    )
    verdicts.check(actions <= 1, "the breach's action (reassign or return, if its policy has one) happens at most once",
                   f"{actions} events")  # fmt: skip
    return {
        "clock": int(clock),
        "notifications": notes,
        "emailed": emailed,
        "enforcement_runs": runs,
        "breaches_recorded_by_runs": recorded,
        "breach_actions": actions,
    }


def kill_in_stream(
    cluster: Cluster, verdicts: Verdicts, marketer: str, leads: list[int], seconds: float
) -> dict:
    harness.say(f"{seconds:.0f} s of reads and hand-offs through the proxy; SIGKILL node B, then worker 2")
    pool = list(leads)
    lock = threading.Lock()
    results: list[dict] = []
    start = time.monotonic()
    stop_at = start + seconds
    kill_web, kill_worker = start + seconds * 0.3, start + seconds * 0.45
    since = sql("SELECT now()")

    def user(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - a load pattern, not a secret
        while time.monotonic() < stop_at:
            lead = None
            if rng.random() < 0.3:
                with lock:
                    lead = pool.pop() if pool else None
            if lead is not None:
                method, path, body = "POST", f"/api/leads/{lead}/qualify/", {}
            else:
                method, body = "GET", None
                path = rng.choice(
                    ["/api/leads/?page_size=5", "/api/me/", "/api/leads/?stage=mql&page_size=5"]
                )
            began = time.monotonic()
            status, answer, headers = harness.http(
                cluster.proxy, method, path, token=marketer, body=body, timeout=30
            )
            with lock:
                results.append({
                    "method": method, "path": path, "lead": lead, "status": status, "began": began - start,
                    "ended": time.monotonic() - start, "upstream": headers.get("X-Upstream", ""),
                    "answer": "" if status < 500 else " ".join(str(answer).split())[:90],
                })  # fmt: skip
            time.sleep(rng.uniform(0.02, 0.08))

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(max(0, kill_web - time.monotonic()))
    cluster.processes.kill(cluster.procs["web-b"])
    web_killed = time.monotonic() - start
    print(f"   node B killed at {web_killed:.1f} s", flush=True)
    time.sleep(max(0, kill_worker - time.monotonic()))
    cluster.processes.kill(cluster.procs["worker-2"])
    worker_killed = time.monotonic() - start
    print(f"   worker 2 killed at {worker_killed:.1f} s", flush=True)
    for thread in threads:
        thread.join(timeout=60)

    total = len(results)
    failed = [r for r in results if r["status"] >= 500 or r["status"] == 0]
    get_failed = [r for r in failed if r["method"] == "GET"]
    post_failed = [r for r in failed if r["method"] == "POST"]
    in_flight = [r for r in failed if r["began"] <= web_killed + 0.05]
    after = [r for r in results if r["began"] > web_killed + 0.5]
    after_failed = [r for r in after if r["status"] >= 500 or r["status"] == 0]
    print(f"   {total} requests: {total - len(failed)} answered below 500, {len(failed)} failed "
          f"({len(get_failed)} GET, {len(post_failed)} POST)", flush=True)  # fmt: skip
    for r in failed[:10]:
        print(f"   failed: {r['method']} {r['path']} {r['status']} at {r['began']:.2f}-{r['ended']:.2f} s "
              f"via {r['upstream'] or '?'}: {r['answer']}", flush=True)  # fmt: skip
    verdicts.check(total > 50, "the stream made requests", f"{total}")
    verdicts.check(not get_failed, "every read (GET) is answered: nginx retries it on the other node",
                   f"{len(get_failed)} failed")  # fmt: skip
    verdicts.check(len(post_failed) <= len(in_flight) and len(post_failed) <= 6,
                   "a hand-off fails only if it was in flight on the killed node (at most one per client)",
                   f"{len(post_failed)} failed, {len(in_flight)} began before the kill")  # fmt: skip
    verdicts.check(not after_failed, "after the kill, every request through the proxy is answered",
                   f"{len(after_failed)} failed")  # fmt: skip
    to_b_after = [r for r in after if r["upstream"].endswith(cluster.b.rsplit(":", 1)[1])]
    verdicts.check(not to_b_after, "after the kill, nothing is answered by node B", f"{len(to_b_after)}")

    acknowledged = [r["lead"] for r in results if r["method"] == "POST" and r["status"] == 200]
    refused = [r for r in results if r["method"] == "POST" and 400 <= r["status"] < 500]
    unknown = [r["lead"] for r in post_failed]
    verdicts.check(bool(acknowledged), "hand-offs were made through the proxy during the kills", "none")
    verdicts.check(
        not refused, "no hand-off is refused", f"{[(r['lead'], r['status']) for r in refused][:5]}"
    )
    ids = ",".join(map(str, acknowledged + unknown)) or "0"
    stages = dict(
        line.split("|")
        for line in sql(f"SELECT id, stage FROM leads_lead WHERE id IN ({ids})").splitlines()  # noqa: S608
    )
    lost = [lead for lead in acknowledged if stages.get(str(lead)) != "mql"]
    verdicts.check(
        not lost, f"every acknowledged hand-off ({len(acknowledged)}) is in the database", f"{lost}"
    )
    doubled = sql(
        "SELECT lead_id, count(*) FROM leads_leadevent WHERE type = 'qualified' "  # noqa: S608
        f"AND occurred_at >= '{since}' GROUP BY lead_id HAVING count(*) > 1"
    )
    verdicts.check(not doubled, "no hand-off is recorded twice", doubled.replace("\n", "; "))
    unknown_fate = {lead: stages.get(str(lead)) for lead in unknown}
    if unknown:
        verdicts.note(f"hand-offs answered 5xx (in flight on node B): their leads now: {unknown_fate}")

    recorded = [lead for lead in acknowledged + unknown if stages.get(str(lead)) == "mql"]
    notify_ids = ",".join(map(str, recorded)) or "0"

    def notified():
        n = sql_int(
            f"SELECT count(DISTINCT lead_id) FROM leads_notification WHERE kind = 'mql_assigned' AND lead_id IN ({notify_ids})"  # noqa: S608
        )
        return n if n >= len(recorded) else None

    count = wait_for(notified, 20) or sql_int(
        f"SELECT count(DISTINCT lead_id) FROM leads_notification WHERE kind = 'mql_assigned' AND lead_id IN ({notify_ids})"  # noqa: S608
    )
    held = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-n", str(BROKER_DB), "hlen", "unacked"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    held = int(held) if held.isdigit() else 0
    dupes = sql_int(
        "SELECT count(*) FROM (SELECT recipient_id, kind, dedupe_key FROM leads_notification "
        "GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
    )
    verdicts.check(dupes == 0, "no notification twice")
    verdicts.check(count + held >= len(recorded),
                   "every recorded hand-off's rep is notified, but for tasks the killed worker held",
                   f"{count} of {len(recorded)} notified, {held} tasks held")  # fmt: skip
    if count < len(recorded):
        verdicts.note(
            f"{len(recorded) - count} hand-off(s) not yet notified: the task was taken by the killed worker "
            f"({held} unacknowledged in Redis); Redis gives it to another worker after the broker's "
            "visibility_timeout (3600 s), and acks_late tasks are then run again"
        )
    return {
        "requests": total,
        "answered_below_500": total - len(failed),
        "failed": len(failed),
        "failed_get": len(get_failed),
        "failed_post": len(post_failed),
        "seconds": round(seconds, 1),
        "requests_per_second": round(total / seconds, 1),
        "node_b_killed_at": round(web_killed, 1),
        "worker_2_killed_at": round(worker_killed, 1),
        "handoffs_acknowledged": len(acknowledged),
        "handoffs_5xx": unknown_fate,
        "handoffs_notified": count,
        "tasks_held_by_killed_worker": held,
    }


# --- the run ------------------------------------------------------------------------------------


def summary(results: dict) -> None:
    """The figures in a few lines (the JSON above has them all)."""
    kill, imp, breach = results.get("kill", {}), results.get("import", {}), results.get("breach", {})
    lines = []
    if "requests" in kill:
        lines.append(
            f"stream through nginx: {kill['requests']} requests in {kill['seconds']:g} s "
            f"({kill['requests_per_second']:g}/s), {kill['failed']} failed ({kill['failed_get']} GET, "
            f"{kill['failed_post']} POST in flight on the killed node), "
            f"{results.get('nginx', {}).get('retried_on_another_node', 0)} retried by nginx on the other node; "
            f"{kill['handoffs_acknowledged']} hand-offs acknowledged, all in the database, none twice"
        )
    if imp.get("status"):
        lines.append(
            f"import through node A: {imp['rows']:,} rows, {imp['counts']}, run in {imp['run_seconds']} s "
            f"({imp['rows_per_second']} rows/s)"
        )
    if "notifications" in breach:
        lines.append(
            f"breach: recorded once by {breach['enforcement_runs']} enforcement runs of two beats, "
            f"{breach['notifications']} notifications, {breach['emailed']} emails"
        )
    lines.append(
        f"setup {results.get('setup_seconds')} s, start {results.get('start_seconds')} s, "
        f"total {results.get('seconds')} s"
    )
    for line in lines:
        print(f"   {line}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=200, help="demo leads to load first (default 200)")
    parser.add_argument(
        "--import-rows", type=int, default=2000, help="rows of the imported CSV (default 2000)"
    )
    parser.add_argument(
        "--stream-seconds", type=float, default=14, help="length of the kill stream (default 14)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the run folder")
    args = parser.parse_args()
    harness.need_venv()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not nginx:
        sys.exit("nginx is not installed: apt-get install -y nginx (Debian's package; .ci/run installs it)")
    began = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="smarketing-multinode-"))
    harness.say(f"Run folder (logs, var folders, nginx): {folder}")
    metrics_token = secrets.token_urlsafe(24)
    base_env = harness.environment(
        DATABASE,
        broker_db=BROKER_DB,
        DJANGO_SETTINGS_MODULE="smarketing.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SECURE_SSL_REDIRECT="false",  # TLS ends before nginx in a real deployment
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        SMARKETING_TRUSTED_PROXIES="1",
        SMARKETING_METRICS_TOKEN=metrics_token,
        CACHE_URL=f"redis://127.0.0.1:6379/{CACHE_DB}",
        SLA_ENFORCE_EVERY_SECONDS="2",
        EMAIL_URL="consolemail://",
        PYTHONUNBUFFERED="1",
    )
    base_env.pop("SMARKETING_IMPORT_DIR", None)  # each machine's own default, under its var folder
    # The static files, collected once and kept between runs (shared with scripts/load.py:
    # compressing them takes a minute or more on a busy machine).
    static = load.static_root()
    base_env["DJANGO_STATIC_ROOT"] = str(static)
    for db in (BROKER_DB, CACHE_DB):
        subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-n", str(db), "flushdb"], capture_output=True, check=True
        )
    setup_started = time.monotonic()
    collected = (static / "staticfiles.json").exists()
    harness.fresh_database(base_env, DATABASE, leads=args.leads, weeks=4, static=not collected)
    setup_seconds = time.monotonic() - setup_started
    ready = [int(x) for x in sql(READY_LEADS).split()]
    handoff_leads, stream_leads = ready[:9], ready[9:]
    names = ["web-a", "web-b", "worker-1", "worker-2", "beat-1", "beat-2"]
    var = {name: folder / name for name in names}
    envs = {}
    for name in names:
        var[name].mkdir()
        envs[name] = {**base_env, "SMARKETING_VAR_DIR": str(var[name])}
        if name.startswith("web-"):  # as docker-compose.yml runs web: one empty folder per host
            (var[name] / "prometheus").mkdir()
            envs[name]["PROMETHEUS_MULTIPROC_DIR"] = str(var[name] / "prometheus")
    verdicts = Verdicts()
    results: dict = {"setup_seconds": round(setup_seconds, 1), "ready_leads": len(ready)}
    port_a, port_b, port_proxy = harness.free_port(), harness.free_port(), harness.free_port()
    with harness.Processes() as processes:
        cluster = Cluster(
            f"http://127.0.0.1:{port_proxy}", f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}",
            var, processes,
        )  # fmt: skip
        harness.say("Starting node A and node B (gunicorn), worker 1 and 2, beat 1 and 2, nginx in front")
        elsewhere = hiding([var["web-a"], var["web-b"]])
        results["web_folders_hidden_from_workers"] = bool(elsewhere)
        print(
            "   workers and beats run in mount namespaces where the web nodes' folders are empty"
            if elsewhere
            else "   note: no mount namespace here (needs root): workers could read the web nodes' folders",
            flush=True,
        )
        for name in ("worker-1", "worker-2"):
            cluster.procs[name] = processes.worker(
                envs[name], beat=False, name=name, log=folder / f"{name}.log", session=True, wrap=elsewhere
            )
        for name in ("beat-1", "beat-2"):
            cluster.procs[name] = processes.beat(
                envs[name], log=folder / f"{name}.log", session=True, wrap=elsewhere
            )
        for name, port in (("web-a", port_a), ("web-b", port_b)):
            cluster.procs[name] = processes.gunicorn(
                envs[name], port, log=folder / f"{name}.log", session=True
            )
        conf = nginx_config(folder, port_proxy, [port_a, port_b])
        test = subprocess.run(
            [nginx, "-t", "-q", "-p", folder, "-c", conf, "-e", folder / "error.log"],
            capture_output=True,
            text=True,
        )
        if test.returncode:
            sys.exit(f"nginx -t refused the generated config:\n{test.stderr}")
        cluster.procs["nginx"] = processes.start(
            [nginx, "-p", folder, "-c", conf, "-e", folder / "error.log"],
            base_env,
            folder / "nginx.out",
            session=True,
        )
        harness.wait_http(f"{cluster.proxy}/login/")
        for name in ("worker-1", "worker-2"):
            if not wait_for(
                lambda n=name: " ready." in (folder / f"{n}.log").read_text(errors="replace"), 60
            ):
                sys.exit(f"{name} did not start: {folder / name}.log")
        results["start_seconds"] = round(time.monotonic() - began - setup_seconds, 1)
        marketer = harness.token(cluster.proxy, "marketer")
        steps = [
            ("probes", lambda: probes(cluster, verdicts, metrics_token)),
            ("rate limit", lambda: rate_limit_shared(cluster, verdicts)),
            ("import", lambda: import_through_a(cluster, verdicts, marketer, args.import_rows)),
            ("handoffs", lambda: handoffs_on_both(cluster, verdicts, marketer, handoff_leads)),
            ("breach", lambda: breach_once(cluster, verdicts, handoff_leads[0])),
            ("kill", lambda: kill_in_stream(cluster, verdicts, marketer, stream_leads, args.stream_seconds)),
        ]
        for name, step in steps:
            try:
                results[name] = step()
            except Exception as exc:  # noqa: BLE001 - a step that crashes is a broken promise, the rest still runs
                verdicts.check(False, f"the {name} step runs", f"{type(exc).__name__}: {exc}")
                results[name] = {"crashed": f"{type(exc).__name__}: {exc}"}
        results["nginx"] = nginx_access(folder)
        harness.say("Stopping every process")
    errors = {
        name: sum(1 for line in (folder / f"{name}.log").read_text(errors="replace").splitlines()
                  if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line))
        for name in names if (folder / f"{name}.log").exists()
    }  # fmt: skip
    results["error_lines_in_logs"] = errors
    if not args.keep:
        harness.drop_database(DATABASE)
    results["seconds"] = round(time.monotonic() - began, 1)
    results["broken"] = verdicts.broken
    results["logs"] = str(folder)
    print(json.dumps(results, indent=2))
    summary(results)
    if verdicts.broken:
        harness.say(f"FAILED: {len(verdicts.broken)} broken promise(s):")
        for promise in verdicts.broken:
            print(f"  - {promise}")
        return 1
    harness.say(f"PASSED in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
