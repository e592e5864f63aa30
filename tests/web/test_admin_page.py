#!/usr/bin/python3
"""The web admin page in a real browser (headless Chromium driven by Selenium): a 3-node
cluster with an admin token, the page loaded from a follower, the nodes and one leader shown,
leadership moved with the page's buttons (confirmations accepted) and seen moving, an API
error shown, a node removed; the page's headers, the cross-site refusals, the forwarding of
changes and cluster_manager checked over plain HTTP. Screenshots go to $WEB_TEST_OUT (default
tests/web/admin_page-screenshots/ under the current directory); their paths are printed.

Every process is started here and stopped by pid. Exit 0 when every check passed, 1 otherwise,
77 when Chromium, chromedriver or Selenium cannot be used here. Last line: "N passed, N failed".
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SRCDIR = os.environ.get("CONCORDKV_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
SERVER = os.environ.get("CONCORDKV_SERVER") or "./concordkv-server"
MANAGER = os.environ.get("CONCORDKV_CLUSTER_MANAGER") or "./utils/cluster_manager"
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or "/usr/bin/chromedriver"
TOKEN = "admin-token"
AUTH = {"Authorization": "Bearer " + TOKEN}
DEADLINE_S = 20  # of any one thing the test waits for

passed = 0
failed = 0


def log(msg):
    print(msg, flush=True)


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        log("ok   %s" % name)
    else:
        failed += 1
        log("FAIL %s%s" % (name, (": " + str(detail)) if detail != "" else ""))
    return cond


def finish(code=None):
    log("%d passed, %d failed" % (passed, failed))
    sys.exit(code if code is not None else (1 if failed else 0))


def skip(why):
    log("web: %s: skipped" % why)
    finish(77)


class Skip(Exception):
    """Raised inside main() (whose clean-up must run first): skip the test."""


try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    skip("python3-selenium is not installed (apt-get install python3-selenium chromium chromium-driver)")
for path in (CHROMIUM, CHROMEDRIVER):
    if not os.access(path, os.X_OK):
        skip("%s is missing (apt-get install chromium chromium-driver)" % path)
sys.path.insert(0, os.path.join(SRCDIR, "tests", "chaos"))
try:
    from common import Conn, free_port  # loopback ports claimed like tests/lib/fixture.c's
except ImportError:
    skip("python3-redis is not installed")


def wait_for(what, fn, timeout=DEADLINE_S, interval=0.1):
    """Poll FN until it returns a true value (returned) or TIMEOUT passes (None)."""
    end = time.monotonic() + timeout
    while True:
        try:
            v = fn()
        except Exception:  # a node restarting, a page re-rendering
            v = None
        if v:
            return v
        if time.monotonic() > end:
            log("     (gave up waiting for %s)" % what)
            return None
        time.sleep(interval)


# ---- HTTP ----

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body)
        except ValueError:
            self.json = None

    def header(self, name):
        return self.headers.get(name.lower(), "")


def request(port, method, path, body=None, headers=None, timeout=10):
    """One request on 127.0.0.1:PORT; redirects are not followed."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = dict(headers or {})
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=None if body is None else json.dumps(body), headers=h)
        r = c.getresponse()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace"))
    finally:
        c.close()


# ---- the cluster ----

class Node:
    def __init__(self, node_id, workdir):
        self.id = node_id
        self.port = free_port()
        self.raft_port = free_port()
        self.admin_port = free_port()
        self.dir = os.path.join(workdir, "n%d" % node_id)
        self.log_path = os.path.join(workdir, "n%d.log" % node_id)
        self.proc = None

    def start(self, spec):
        os.makedirs(self.dir, exist_ok=True)
        argv = [SERVER, "--id", str(self.id), "--bind", "127.0.0.1", "--port", str(self.port),
                "--raft-port", str(self.raft_port), "--admin-port", str(self.admin_port),
                "--dir", self.dir, "--cluster", spec, "--cluster-secret", "web-test-secret",
                "--admin-token", TOKEN, "--election-timeout", "300", "--heartbeat-timeout", "50"]
        with open(self.log_path, "w") as f:
            self.proc = subprocess.Popen(argv, stdout=f, stderr=f, stdin=subprocess.DEVNULL)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def cluster_view(port):
    r = request(port, "GET", "/api/cluster/status", headers=AUTH, timeout=5)
    return r.json if r.status == 200 else None


def ready_view(port, size):
    """The cluster view once SIZE nodes answer and one of them leads, every admin address known."""
    v = cluster_view(port)
    if not v or len(v["nodes"]) != size or v["leader"] is None:
        return None
    if any(n["status"] is None or not n["admin_address"] for n in v["nodes"]):
        return None
    leaders = [n for n in v["nodes"] if n["status"]["state"] == "leader"]
    return v if len(leaders) == 1 else None


def leader_of(port):
    v = cluster_view(port)
    leaders = [n["id"] for n in (v or {}).get("nodes", []) if n["status"] and n["status"]["state"] == "leader"]
    return leaders[0] if len(leaders) == 1 else None


class Load(threading.Thread):
    """SETs on whichever node leads, so the charts have something to draw."""

    def __init__(self, nodes):
        super().__init__(daemon=True)
        self.nodes = nodes
        self.halt = threading.Event()
        self.done = 0

    def run(self):
        i = 0
        conn = None
        while not self.halt.is_set():
            try:
                if conn is None:
                    conn = Conn("127.0.0.1:%d" % self.nodes[i % len(self.nodes)].port, timeout=2)
                conn.call("SET", "web:%d" % (self.done % 100), "x" * 32)
                self.done += 1
                if self.done % 50 == 0:
                    time.sleep(0.02)
            except Exception:
                conn = None
                i += 1
                time.sleep(0.05)


# ---- the checks over plain HTTP ----

def http_checks(nodes, leader, follower):
    r = request(follower.admin_port, "GET", "/")
    check("GET / is the page", r.status == 200 and "<title>ConcordKV admin</title>" in r.body, r.status)
    check("GET / is text/html; charset=utf-8", r.header("Content-Type") == "text/html; charset=utf-8",
          r.header("Content-Type"))
    check("GET / is not cached", r.header("Cache-Control") == "no-store", r.header("Cache-Control"))
    csp = r.header("Content-Security-Policy")
    check("GET / has a strict CSP", "default-src 'none'" in csp and "script-src 'self'" in csp and
          "connect-src 'self'" in csp and "unsafe" not in csp, csp)
    r = request(follower.admin_port, "GET", "/admin.js")
    check("GET /admin.js is the script", r.status == 200 and "javascript" in r.header("Content-Type")
          and "X-ConcordKV-Forward" in r.body, r.status)
    r = request(follower.admin_port, "GET", "/api/status")
    check("the API still needs the token", r.status == 401, r.status)

    bad = {"Origin": "http://evil.example"}
    bad.update(AUTH)
    r = request(follower.admin_port, "POST", "/api/cluster/transfer", {}, headers=bad)
    check("a POST from another origin is refused with a JSON error",
          r.status == 403 and r.json and "cross-origin" in r.json.get("error", ""), (r.status, r.body))
    bad = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}
    bad.update(AUTH)
    r = request(leader.admin_port, "POST", "/api/cluster/transfer", {}, headers=bad)
    check("a POST with Sec-Fetch-Site: cross-site is refused with a JSON error",
          r.status == 403 and r.json and "cross-site" in r.json.get("error", ""), (r.status, r.body))
    r = request(leader.admin_port, "GET", "/api/cluster/config", headers=bad)
    check("a cross-site GET of the API is refused", r.status == 403, r.status)
    r = request(leader.admin_port, "GET", "/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
    check("a link from another site still opens the page", r.status == 200, r.status)
    same = {"Origin": "http://127.0.0.1:%d" % follower.admin_port, "Sec-Fetch-Site": "same-origin"}
    same.update(AUTH)
    r = request(follower.admin_port, "GET", "/api/cluster/config", headers=same)
    check("a same-origin request passes", r.status == 200, r.status)

    r = request(follower.admin_port, "POST", "/api/cluster/transfer", {"id": leader.id}, headers=AUTH)
    check("a follower still redirects a plain POST (307)", r.status == 307 and
          r.header("Location").endswith(":%d/api/cluster/transfer" % leader.admin_port), (r.status, r.body))
    fwd = {"X-ConcordKV-Forward": "1"}
    fwd.update(AUTH)
    r = request(follower.admin_port, "POST", "/api/cluster/transfer", {"id": leader.id}, headers=fwd)
    check("a follower forwards a POST marked X-ConcordKV-Forward", r.status == 200 and r.json.get("ok"),
          (r.status, r.body))
    r = request(follower.admin_port, "POST", "/api/cluster/remove", {"id": 99}, headers=fwd)
    check("a forwarded change's error comes back as the leader gave it", r.status == 409 and
          "99" in (r.json or {}).get("error", ""), (r.status, r.body))
    r = request(follower.admin_port, "GET", "/api/cluster/metrics?id=%d" % leader.id, headers=AUTH)
    check("a node's metrics through another node", r.status == 200 and "concordkv_raft_term" in r.body and
          r.header("Content-Type").startswith("text/plain"), r.status)
    r = request(follower.admin_port, "GET", "/api/cluster/metrics?id=0", headers=AUTH)
    check("metrics of a bad id: 400", r.status == 400, r.status)

    env = dict(os.environ, CONCORDKV_ADMIN_TOKEN=TOKEN)
    out = subprocess.run([MANAGER, "-s", "http://127.0.0.1:%d" % follower.admin_port, "list"],
                         capture_output=True, text=True, timeout=20, env=env)
    check("cluster_manager list (no Origin) still works", out.returncode == 0 and
          len(out.stdout.strip().splitlines()) == 4, out.stdout + out.stderr)
    out = subprocess.run([MANAGER, "-s", "http://127.0.0.1:%d" % follower.admin_port, "transfer",
                          str(leader.id)], capture_output=True, text=True, timeout=40, env=env)
    check("cluster_manager transfer through a follower still works", out.returncode == 0, out.stdout + out.stderr)


# ---- the browser ----

def start_browser(workdir):
    opts = Options()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1500,1150", "--user-data-dir=" + os.path.join(workdir, "chrome"),
              "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, log_path=os.path.join(workdir, "chromedriver.log"))
    return webdriver.Chrome(service=service, options=opts)


def page_rows(driver):
    """{id: state} as the page's table shows it."""
    rows = {}
    for tr in driver.find_elements(By.CSS_SELECTOR, "#nodes tbody tr"):
        rows[int(tr.get_attribute("data-id"))] = tr.find_element(By.CSS_SELECTOR, "td.state").text
    return rows


def page_leader(driver):
    t = driver.find_element(By.ID, "leader-id").text
    return int(t) if t.isdigit() else None


def accept_confirm(driver, expect):
    alert = WebDriverWait(driver, 5).until(lambda d: d.switch_to.alert)
    text = alert.text
    alert.accept()
    check("the confirmation asks: %s" % expect, expect in text, text)


def result_box(driver):
    el = driver.find_element(By.ID, "result")
    cls = el.get_attribute("class")
    if "ok" in cls.split() or "error" in cls.split():
        return cls, el.text
    return None


def browser_checks(driver, nodes, outdir):
    by_id = {n.id: n for n in nodes}
    leader_id = wait_for("a leader", lambda: leader_of(nodes[0].admin_port))
    follower = next(n for n in nodes if n.id != leader_id)
    url = "http://127.0.0.1:%d/" % follower.admin_port
    log("     page %s (node %d, a follower)" % (url, follower.id))
    driver.get(url)
    banner = wait_for("the token banner", lambda: "token" in driver.find_element(By.ID, "banner").text and
                      driver.find_element(By.ID, "banner").text)
    check("without the token the page says it needs one", banner, banner)
    driver.find_element(By.ID, "token").send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()

    rows = wait_for("three nodes on the page", lambda: len(page_rows(driver)) == 3 and
                    list(page_rows(driver).values()).count("leader") == 1 and page_rows(driver))
    check("the page shows the three nodes with one leader", rows, rows)
    check("the page's leader is the cluster's", wait_for("the leader id", lambda: page_leader(driver) ==
                                                          leader_of(follower.admin_port)),
          (page_leader(driver), leader_of(follower.admin_port)))
    check("the token is kept in sessionStorage",
          driver.execute_script("return sessionStorage.getItem('concordkv-admin-token')") == TOKEN)
    lags = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "#nodes tbody td.lag")]
    check("every node has a lag figure", len(lags) == 3 and all(x.isdigit() for x in lags), lags)
    health = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "#nodes tbody .health")]
    check("every node is healthy", health == ["healthy"] * 3, health)

    pts = wait_for("chart points", lambda: (lambda s: len([p for p in s["ops"] if p["v"]]) >= 4 and
                                            len([p for p in s["p99"] if p["v"]]) >= 2 and
                                            len([p for p in s["bmean"] if p["v"]]) >= 2 and s)
                   (driver.execute_script("return window.concordkvAdmin.series()")))
    check("the charts have ops/s, latency and batch-size points", pts,
          driver.execute_script("return window.concordkvAdmin.series()"))
    hist = ("# TYPE h histogram\n"
            'h_bucket{le="1"} 0\nh_bucket{le="2"} 10\nh_bucket{le="4"} 20\nh_bucket{le="+Inf"} 20\n'
            "h_sum 50\nh_count 20\n")
    q = lambda qq, lo=0: driver.execute_script(
        "return window.concordkvAdmin.quantileOf(arguments[0], 'h', arguments[1], arguments[2])", hist, qq, lo)
    got = (q(0.25), q(0.5), q(0.99), q(0.0, 1))
    check("the page's percentiles interpolate within buckets as histogram_quantile does",
          all(abs(a - b) < 1e-9 for a, b in zip(got, (1.5, 2, 3.96, 1))), got)
    shot = os.path.join(outdir, "1-cluster.png")
    driver.save_screenshot(shot)
    log("     screenshot %s" % os.path.abspath(shot))

    before = page_leader(driver)
    driver.find_element(By.ID, "transfer-any").click()
    accept_confirm(driver, "Move leadership")
    res = wait_for("the transfer's result", lambda: result_box(driver))
    check("the transfer succeeded on the page", res and res[0].split()[-1] == "ok", res)
    after = wait_for("a new leader on the page", lambda: page_leader(driver) not in (None, before) and
                     page_leader(driver))
    check("the page shows the leader moving", after is not None and after != before, (before, after))
    check("the cluster agrees with the page", after is not None and
          wait_for("the cluster's leader", lambda: leader_of(follower.admin_port) == after), after)
    shot = os.path.join(outdir, "2-transferred.png")
    driver.save_screenshot(shot)
    log("     screenshot %s" % os.path.abspath(shot))

    target = next(n.id for n in nodes if n.id != after)
    driver.find_element(By.CSS_SELECTOR, "#nodes tr[data-id='%d'] button.transfer-to" % target).click()
    accept_confirm(driver, "node %d" % target)
    check("'Make leader' moves leadership to that node",
          wait_for("node %d leading" % target, lambda: page_leader(driver) == target and
                   leader_of(follower.admin_port) == target), page_leader(driver))

    driver.find_element(By.ID, "add-toggle").click()
    form = driver.find_element(By.ID, "add-form")
    form.find_element(By.NAME, "id").send_keys("1")
    form.find_element(By.NAME, "address").send_keys("127.0.0.1:1")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    accept_confirm(driver, "Add node 1")
    res = wait_for("the add's result", lambda: result_box(driver) if "working" not in
                   driver.find_element(By.ID, "result").text else None)
    check("an API error is shown on the page", res and "error" in res[0] and
          "already a member" in res[1] and "409" in res[1], res)

    leader_now = leader_of(follower.admin_port)
    victim = next(n.id for n in nodes if n.id not in (leader_now, follower.id))

    def health_of(node_id):
        return driver.find_element(By.CSS_SELECTOR, "#nodes tr[data-id='%d'] .health" % node_id).text

    by_id[victim].proc.send_signal(signal.SIGSTOP)
    try:
        down = wait_for("node %d unreachable on the page" % victim, lambda: health_of(victim) == "unreachable")
        check("a paused node shows as unreachable", down, health_of(victim))
        shot = os.path.join(outdir, "3-unreachable.png")
        driver.save_screenshot(shot)
        log("     screenshot %s" % os.path.abspath(shot))
    finally:
        by_id[victim].proc.send_signal(signal.SIGCONT)
    check("a resumed node is healthy again",
          wait_for("node %d healthy" % victim, lambda: health_of(victim) == "healthy"), health_of(victim))
    driver.find_element(By.CSS_SELECTOR, "#nodes tr[data-id='%d'] button.remove" % victim).click()
    accept_confirm(driver, "Remove node %d" % victim)
    gone = wait_for("two nodes on the page", lambda: sorted(page_rows(driver)) ==
                    sorted(n.id for n in nodes if n.id != victim))
    check("a removed node leaves the page", gone, page_rows(driver))
    by_id[victim].stop()
    shot = os.path.join(outdir, "4-removed.png")
    driver.save_screenshot(shot)
    log("     screenshot %s" % os.path.abspath(shot))

    logs = driver.get_log("browser")
    csp = [e["message"] for e in logs if "Content Security Policy" in e["message"]]
    check("no CSP violation in the browser's console", not csp, csp)
    errors = [e["message"] for e in logs if e["level"] == "SEVERE" and "401" not in e["message"] and
              "409" not in e["message"]]
    check("no other error in the browser's console", not errors, errors)


def main():
    started = time.monotonic()
    outdir = os.environ.get("WEB_TEST_OUT") or os.path.join("tests", "web", "admin_page-screenshots")
    os.makedirs(outdir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="concordkv-web-")
    nodes = [Node(i, workdir) for i in (1, 2, 3)]
    spec = ",".join("%d@127.0.0.1:%d" % (n.id, n.raft_port) for n in nodes)
    driver = None
    load = None
    ok = False
    skipped = None
    try:
        try:
            driver = start_browser(workdir)
        except (WebDriverException, OSError) as e:
            lines = str(e).strip().splitlines() or [type(e).__name__]
            raise Skip("cannot start headless Chromium through %s: %s" % (CHROMEDRIVER, lines[0]))
        for n in nodes:
            n.start(spec)
        v = wait_for("a ready 3-node cluster", lambda: ready_view(nodes[0].admin_port, 3), timeout=30)
        if not check("a 3-node cluster with one leader", v):
            return
        load = Load(nodes)
        load.start()
        leader = next(n for n in nodes if n.id == leader_of(nodes[0].admin_port))
        follower = next(n for n in nodes if n is not leader)
        http_checks(nodes, leader, follower)
        browser_checks(driver, nodes, outdir)
        ok = True
    except Skip as e:
        skipped = str(e)
        ok = True
    except Exception:  # a check that could not even run (an element missing, a node gone)
        check("the test ran to its end", False, traceback.format_exc())
    finally:
        if load is not None:
            load.halt.set()
            load.join(5)
        if driver is not None:
            driver.quit()
        for n in nodes:
            n.stop()
        reports = []
        for n in (n for n in nodes if os.path.exists(n.log_path)):
            with open(n.log_path, errors="replace") as f:
                text = f.read()
            if "ERROR: AddressSanitizer" in text or "LeakSanitizer" in text or "runtime error:" in text:
                reports.append(n.log_path)
        if nodes[0].proc is not None:
            check("no sanitizer report in the nodes' logs", not reports, reports)
        if not ok or failed:
            for n in (n for n in nodes if os.path.exists(n.log_path)):
                log("---- %s (tail)" % n.log_path)
                with open(n.log_path, errors="replace") as f:
                    log("".join(f.readlines()[-15:]))
        shutil.rmtree(workdir, ignore_errors=True)
        log("     %.1f s" % (time.monotonic() - started))
    if skipped:
        skip(skipped)
    finish()


if __name__ == "__main__":
    main()
