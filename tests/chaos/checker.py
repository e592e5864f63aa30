#!/usr/bin/python3
"""Checkers for the chaos histories written by driver.py.

Registers: linearizability, decomposed per key (P-compositionality), searched with Lowe's
just-in-time linearization (Wing & Gong with memoization of (linearized set, state), the set
hashed incrementally). ok ops must take effect inside [inv, comp]; unknown writes may
take effect at any point after their invocation or never; failed ops and unknown reads are
dropped; a nil read is the initial state. Values are unique per write, which allows two exact
simplifications: an unknown write whose value nobody observed is dropped (taking effect can
never help another op), and one whose value was observed must have taken effect.

Appends: every acknowledged token present exactly once in the final value; no token that was
never attempted (or whose APPEND definitely failed); every read a prefix of one common order;
and that order linearizable: appends placed in order and reads between them, each inside its
own real-time interval, each APPEND's returned length matching its position.

Queue (RPUSH q, BLMOVE q inflight:P, LREM inflight:P; one final atomic read of every list): no
acknowledged item lost (delivered by an ok BLMOVE, or still in q or an inflight list at the
end), none delivered twice or present twice, none both delivered and still queued, none
completed and still in flight, LREM of a held item answering 1, and what an unknown BLMOVE may
have moved found only in its own consumer's list.

Usage: checker.py HISTORY.jsonl [--json OUT] [--windows DIR]
Exit status 0 when every checker passes, 1 on a violation, 2 when inconclusive.
"""
import argparse
import collections
import json
import os
import random
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

INF = float("inf")
ANY = ("<any>",)        # unknown initial state of a window
UNKNOWN = ("<unknown>",)  # unknown return value (a GETSET with an unknown outcome)


# ======================================================================================
# registers


class ROp:
    """One register operation prepared for the search."""
    __slots__ = ("f", "arg", "ret", "inv", "comp", "required", "src")

    def __init__(self, f, arg, ret, inv, comp, required=True, src=None):
        self.f, self.arg, self.ret = f, arg, ret
        self.inv, self.comp, self.required, self.src = inv, comp, required, src

    def __repr__(self):
        return "ROp(%s %r -> %r [%s, %s]%s)" % (self.f, self.arg, self.ret, self.inv, self.comp,
                                                "" if self.required else " optional")


def register_step(state, op):
    """The register model: returns (allowed, new state)."""
    f = op.f
    if f == "get":
        if state is ANY or state == op.ret:
            return True, op.ret
        return False, state
    if f == "set":
        return True, op.arg
    if f == "getset":
        if op.ret is UNKNOWN or state is ANY or state == op.ret:
            return True, op.arg
        return False, state
    if f == "cas":
        expected, new = op.arg
        if state is ANY or state == expected:
            return True, new
        return False, state
    raise ValueError("unknown register op %r" % f)


class SearchResult:
    def __init__(self, ok, steps, detail=None, inconclusive=False):
        self.ok, self.steps, self.detail, self.inconclusive = ok, steps, detail, inconclusive


def linearizable(ops, init=None, max_steps=5_000_000, step=register_step):
    """Lowe's just-in-time linearization search over OPS (a list of ROp). A required op with
    comp == INF must take effect after its invocation; an op with required False may take
    effect after its invocation or never. Returns a SearchResult."""
    n = len(ops)
    if n == 0:
        return SearchResult(True, 0)
    # Entries: calls and returns sorted by time; at equal times calls first (concurrent).
    # Returns of optional ops go after every other entry: reaching one means every required
    # op has been linearized.
    events = []
    for i, op in enumerate(ops):
        events.append((op.inv, 0, 0, i))
        if op.required:
            events.append((op.comp, 1, 1, i))
        else:
            events.append((INF, 2, 1, i))
    events.sort()
    m = len(events)
    HEAD = m
    nxt = [0] * (m + 1)
    prv = [0] * (m + 1)
    kind = [0] * m
    opid = [0] * m
    match = [0] * m
    ret_at = [0] * n
    for e, (_, _, k, i) in enumerate(events):
        kind[e] = k
        opid[e] = i
        if k == 1:
            ret_at[i] = e
    for e, (_, _, k, i) in enumerate(events):
        if k == 0:
            match[e] = ret_at[i]
    order = [HEAD] + list(range(m))
    for a, b in zip(order, order[1:] + [-1]):
        nxt[a] = b
        if b >= 0:
            prv[b] = a
    rnd = random.Random(12345)
    zob = [rnd.getrandbits(96) for _ in range(n)]

    def lift(e):
        r = match[e]
        nxt[prv[e]] = nxt[e]
        if nxt[e] >= 0:
            prv[nxt[e]] = prv[e]
        nxt[prv[r]] = nxt[r]
        if nxt[r] >= 0:
            prv[nxt[r]] = prv[r]

    def unlift(e):
        r = match[e]
        if nxt[r] >= 0:
            prv[nxt[r]] = r
        nxt[prv[r]] = r
        if nxt[e] >= 0:
            prv[nxt[e]] = e
        nxt[prv[e]] = e

    state = init
    h = 0
    stack = []
    cache = set()
    steps = 0
    best_depth, best_stuck = -1, None
    e = nxt[HEAD]
    while e >= 0:
        steps += 1
        if steps > max_steps:
            return SearchResult(False, steps, "search budget exhausted after %d steps" % steps,
                                inconclusive=True)
        if kind[e] == 0:
            i = opid[e]
            allowed, ns = step(state, ops[i])
            if allowed:
                nh = h ^ zob[i]
                key = (nh, ns)
                if key not in cache:
                    cache.add(key)
                    stack.append((e, state, h))
                    state, h = ns, nh
                    lift(e)
                    e = nxt[HEAD]
                    continue
            e = nxt[e]
        else:
            i = opid[e]
            if not ops[i].required:
                return SearchResult(True, steps)
            if len(stack) > best_depth:
                best_depth = len(stack)
                best_stuck = (i, state, [opid[s[0]] for s in stack[-8:]])
            if not stack:
                break
            e0, state, h = stack.pop()
            unlift(e0)
            e = nxt[e0]
    if e < 0:
        return SearchResult(True, steps)
    i, st, recent = best_stuck
    return SearchResult(False, steps, {
        "stuck_op": ops[i].src if ops[i].src is not None else repr(ops[i]),
        "state_then": st if st is not ANY else "<any>",
        "linearized": best_depth,
        "last_linearized": [ops[j].src if ops[j].src is not None else repr(ops[j]) for j in recent],
    })


def prepare_register(key_ops, prune=True):
    """History ops of one register key -> (list of ROp, list of explanations of values that
    no write can explain)."""
    written = {}      # value -> type of the op that wrote it ("ok"/"unknown"/"fail")
    observed = set()
    for op in key_ops:
        f, t = op["f"], op["type"]
        if f in ("set", "getset"):
            written[op["value"]] = _best(written.get(op["value"]), t)
        elif f == "cas":
            written[op["value"][1]] = _best(written.get(op["value"][1]), t)
        if t == "ok":
            if f == "get":
                observed.add(op["result"])
            elif f == "getset":
                observed.add(op["result"])
            elif f == "cas":
                observed.add(op["value"][0])
    problems = []
    for v in observed:
        if v is None:
            continue
        w = written.get(v)
        if w is None:
            problems.append("value %r was read but never written" % (v,))
        elif w == "fail":
            problems.append("value %r was read but its write definitely failed" % (v,))
    out = []
    for op in key_ops:
        f, t = op["f"], op["type"]
        if t == "fail" or (t == "unknown" and f == "get"):
            continue
        if t == "ok":
            if f == "get":
                out.append(ROp("get", None, op["result"], op["inv"], op["comp"], src=op))
            elif f == "set":
                out.append(ROp("set", op["value"], None, op["inv"], op["comp"], src=op))
            elif f == "getset":
                out.append(ROp("getset", op["value"], op["result"], op["inv"], op["comp"], src=op))
            elif f == "cas":
                out.append(ROp("cas", tuple(op["value"]), None, op["inv"], op["comp"], src=op))
            continue
        # unknown write
        new = op["value"][1] if f == "cas" else op["value"]
        if prune and new not in observed:
            continue  # never observed: "never took effect" is always a valid choice
        arg = tuple(op["value"]) if f == "cas" else op["value"]
        ret = UNKNOWN if f == "getset" else None
        if prune:
            out.append(ROp(f, arg, ret, op["inv"], INF, required=True, src=op))
        else:
            out.append(ROp(f, arg, ret, op["inv"], INF, required=False, src=op))
    return out, problems


def _best(a, b):
    rank = {"ok": 3, "unknown": 2, "fail": 1, None: 0}
    return a if rank[a] >= rank[b] else b


def prefix_ops(ops, t):
    """The history as it stood at time T: ops invoked by T; those not complete by T become
    unknown (reads dropped, writes optional). Linearizable whenever the whole history is."""
    out = []
    for op in ops:
        if op.inv > t:
            continue
        if op.comp <= t:
            out.append(op)
        elif op.f != "get":
            out.append(ROp(op.f, op.arg, UNKNOWN if op.f == "getset" else op.ret, op.inv, INF,
                           required=False, src=op.src))
    return out


def failing_window(ops, max_steps=2_000_000):
    """The smallest failing window of a non-linearizable key: the earliest time T whose
    prefix already fails (binary search: prefixes are closed under linearizability), then the
    latest quiescent point S (no op invoked before S completes after it) such that the ops
    invoked in [S, T], from an unknown state, still fail. Returns (ops, S, T)."""
    times = sorted({op.comp for op in ops if op.comp != INF})
    lo, hi = 0, len(times) - 1
    if hi < 0 or linearizable(prefix_ops(ops, times[hi]), max_steps=max_steps).ok:
        return ops, None, None
    while lo < hi:
        mid = (lo + hi) // 2
        if linearizable(prefix_ops(ops, times[mid]), max_steps=max_steps).ok:
            lo = mid + 1
        else:
            hi = mid
    t = times[lo]
    pre = sorted(prefix_ops(ops, t), key=lambda o: o.inv)
    cuts = []
    maxc = -INF
    for j, op in enumerate(pre):
        if j > 0 and maxc < op.inv:
            cuts.append(j)
        maxc = max(maxc, op.comp)
    for j in reversed(cuts):
        window = pre[j:]
        if not linearizable(window, init=ANY, max_steps=max_steps).ok:
            return window, window[0].inv, t
    return pre, None, t


def check_registers(history, max_steps=5_000_000):
    """Per-key linearizability of the register keys. Returns a verdict dict."""
    by_key = collections.defaultdict(list)
    for op in history:
        if op["f"] in ("get", "set", "getset", "cas"):
            by_key[op["key"]].append(op)
    verdict = {"checker": "linearizable-register", "keys": len(by_key), "valid": True,
               "inconclusive": [], "violations": [], "ops_checked": 0}
    for key in sorted(by_key):
        ops, problems = prepare_register(by_key[key])
        verdict["ops_checked"] += len(ops)
        res = linearizable(ops, max_steps=max_steps)
        if res.inconclusive:
            verdict["inconclusive"].append({"key": key, "detail": res.detail})
            continue
        if not res.ok:
            verdict["valid"] = False
            window, s, t = failing_window(ops)
            verdict["violations"].append({
                "key": key, "problems": problems, "detail": res.detail,
                "window": {"from": s, "to": t, "ops": [o.src for o in window if o.src]},
            })
    if verdict["inconclusive"] and verdict["valid"]:
        verdict["valid"] = None
    return verdict


# ======================================================================================
# appends


def parse_tokens(value):
    """An append key's value -> list of tokens, or None if it is not a list of "tok,"."""
    if value is None or value == "":
        return []
    if not value.endswith(","):
        return None
    return value[:-1].split(",")


def check_append_key(key, ops):
    """Check one append key; returns a list of violation dicts (empty when valid)."""
    v = []
    appends = {}   # token -> op (the only op that appended it)
    for op in ops:
        if op["f"] == "append":
            appends[op["value"]] = op
    reads = []
    for op in ops:
        if op["f"] == "read" and op["type"] == "ok":
            toks = parse_tokens(op["result"])
            if toks is None:
                v.append({"what": "malformed value", "ops": [op]})
                continue
            reads.append((op, toks))
    for op, toks in reads:
        seen = set()
        for t in toks:
            if t in seen:
                v.append({"what": "token %s appears twice in one read" % t, "ops": [op, appends.get(t)]})
            seen.add(t)
            a = appends.get(t)
            if a is None:
                v.append({"what": "token %s was never appended" % t, "ops": [op]})
            elif a["type"] == "fail":
                v.append({"what": "token %s is present but its APPEND definitely failed" % t,
                          "ops": [a, op]})
    if not reads:
        if any(a["type"] == "ok" for a in appends.values()):
            v.append({"what": "no successful read of the key: acknowledged appends unverified",
                      "ops": []})
        return v
    longest_op, order = max(reads, key=lambda r: (len(r[1]), r[0]["comp"]))
    for op, toks in reads:
        if order[:len(toks)] != toks:
            diff = next(i for i in range(min(len(toks), len(order)) + 1)
                        if i >= len(toks) or i >= len(order) or toks[i] != order[i])
            v.append({"what": "reads disagree on the order (first difference at position %d)" % diff,
                      "ops": [op, longest_op]})
    finals = [r for r in reads if r[0].get("final")]
    final_op, final = (max(finals, key=lambda r: r[0]["comp"]) if finals else (None, None))
    if final is None:
        v.append({"what": "no final read: lost appends cannot be ruled out", "ops": []})
    else:
        present = set(final)
        for t, a in sorted(appends.items()):
            if a["type"] == "ok" and t not in present:
                v.append({"what": "acknowledged append %s is missing from the final value" % t,
                          "ops": [a, final_op]})
        lost_seen = set()
        for op, toks in reads:
            for t in toks:
                if t not in present and t not in lost_seen:
                    lost_seen.add(t)
                    v.append({"what": "token %s was read but is missing from the final value" % t,
                              "ops": [op, final_op]})
    if v:
        return v
    # Real time: appends in ORDER, reads between them, each inside its own interval.
    pos_len = []
    total = 0
    for t in order:
        total += len(t) + 1
        pos_len.append(total)
    groups = collections.defaultdict(list)
    for op, toks in reads:
        groups[len(toks)].append(op)
    t_now, t_src = -INF, None
    for k in range(len(order) + 1):
        gmax, gsrc = t_now, t_src
        for op in groups.get(k, ()):
            p = max(t_now, op["inv"])
            if p > op["comp"]:
                v.append({"what": "read of %d tokens cannot be placed after the operations it "
                                  "must follow (a stale read, or it saw an append not yet "
                                  "invoked)" % k, "ops": [t_src, op]})
                return v
            if p > gmax:
                gmax, gsrc = p, op
        t_now, t_src = gmax, gsrc
        if k == len(order):
            break
        a = appends[order[k]]
        comp = a["comp"] if a["type"] == "ok" else INF
        p = max(t_now, a["inv"])
        if p > comp:
            v.append({"what": "acknowledged append %s (position %d) completed before an "
                              "operation that must precede it began (a stale read or reordered "
                              "appends)" % (order[k], k), "ops": [t_src, a]})
            return v
        if a["type"] == "ok" and a["result"] != pos_len[k]:
            v.append({"what": "APPEND %s returned length %r but its position gives %d"
                              % (order[k], a["result"], pos_len[k]), "ops": [a, final_op]})
            return v
        t_now, t_src = p, a
    return v


def check_appends(history):
    by_key = collections.defaultdict(list)
    for op in history:
        if op["f"] in ("append", "read"):
            by_key[op["key"]].append(op)
    verdict = {"checker": "append", "keys": len(by_key), "valid": True, "violations": [],
               "acknowledged": 0, "tokens_final": 0}
    for key in sorted(by_key):
        ops = by_key[key]
        verdict["acknowledged"] += sum(1 for o in ops if o["f"] == "append" and o["type"] == "ok")
        finals = [o for o in ops if o["f"] == "read" and o["type"] == "ok" and o.get("final")]
        if finals:
            verdict["tokens_final"] += len(parse_tokens(finals[-1]["result"]) or [])
        for viol in check_append_key(key, ops):
            viol["key"] = key
            viol["ops"] = [o for o in viol["ops"] if o is not None]
            verdict["valid"] = False
            verdict["violations"].append(viol)
    return verdict


# ======================================================================================
# queue


def check_queue(history):
    """Check the queue workload (driver.py's enqueue, dequeue, complete and final qread ops).
    Only the consumer process P touches inflight:P, one op at a time, and an unknown outcome
    ends a process: so inflight:P holds at the end exactly what P's ok BLMOVEs moved there and
    P's LREMs did not remove, plus at most what P's unknown BLMOVEs moved. Returns a verdict."""
    pushes = {}                                # item -> enqueue op
    delivered = collections.defaultdict(list)  # item -> ok dequeue ops that returned it
    unknown_dq = collections.Counter()         # inflight list -> unknown dequeues into it
    completes = collections.defaultdict(list)  # (list, item) -> complete ops
    finals = []
    c = collections.Counter()
    for op in history:
        f, t = op["f"], op["type"]
        if f == "enqueue":
            pushes[op["value"]] = op
            c["pushed_" + t] += 1
        elif f == "dequeue":
            if t == "ok" and op["result"] is not None:
                delivered[op["result"]].append(op)
            elif t == "ok":
                c["dequeue_timeouts"] += 1
            elif t == "unknown":
                unknown_dq[op["value"]] += 1
                c["dequeue_unknown"] += 1
        elif f == "complete":
            completes[(op["key"], op["value"])].append(op)
            if t == "ok" and op["result"] == 1:
                c["completed"] += 1
        elif f == "qread" and t == "ok" and op.get("final"):
            finals.append(op)
    verdict = {"checker": "queue", "valid": True, "violations": [],
               "pushed_ok": c["pushed_ok"], "pushed_unknown": c["pushed_unknown"],
               "pushed_fail": c["pushed_fail"],
               "delivered": sum(len(d) for d in delivered.values()),
               "completed": c["completed"], "dequeue_timeouts": c["dequeue_timeouts"],
               "dequeue_unknown": c["dequeue_unknown"], "left_queued": 0, "left_in_flight": 0}
    v = verdict["violations"]

    def bad(what, item, ops):
        v.append({"what": what, "key": item, "ops": [o for o in ops if o is not None]})
    for item, dqs in sorted(delivered.items()):
        push = pushes.get(item)
        if push is None:
            bad("item %s was delivered but never enqueued" % item, item, dqs)
        elif push["type"] == "fail":
            bad("item %s was delivered but its RPUSH definitely failed" % item, item, [push] + dqs)
        elif dqs[0]["comp"] < push["inv"]:
            bad("item %s was delivered before its RPUSH was sent" % item, item, [push, dqs[0]])
        if len(dqs) > 1:
            bad("item %s was delivered %d times" % (item, len(dqs)), item, [push] + dqs)
        for dq in dqs:
            for done in completes.get((dq["value"], item), ()):
                if done["type"] == "ok" and done["result"] != 1 and done["inv"] >= dq["comp"]:
                    bad("LREM of item %s, held by %s, answered %r" % (
                        item, dq["value"], done["result"]), item, [dq, done])
    if not finals:
        if verdict["pushed_ok"]:
            bad("no final read of the queue: lost items cannot be ruled out", None, [])
        verdict["valid"] = not v
        return verdict
    final = max(finals, key=lambda o: o["comp"])
    where = collections.defaultdict(list)      # item -> lists it is in at the end (repeats kept)
    for lst, items in sorted(final["result"].items()):
        for item in items:
            where[item].append(lst)
    verdict["left_queued"] = len(final["result"].get("q", []))
    verdict["left_in_flight"] = sum(len(x) for k, x in final["result"].items() if k != "q")
    unexplained = collections.defaultdict(list)  # inflight list -> items no ok BLMOVE put there
    for item, lists in sorted(where.items()):
        push, dqs = pushes.get(item), delivered.get(item, [])
        if len(lists) > 1:
            bad("item %s is present %d times at the end (%s)" % (
                item, len(lists), ", ".join(lists)), item, [push, final] + dqs)
        if push is None:
            bad("item %s is present at the end but was never enqueued" % item, item, [final])
            continue
        if push["type"] == "fail":
            bad("item %s is present at the end but its RPUSH definitely failed" % item, item,
                [push, final])
        for lst in lists:
            held = [dq for dq in dqs if dq["value"] == lst]
            if lst == "q" and dqs:
                bad("item %s was delivered and is still queued" % item, item, [push, final] + dqs)
            elif lst != "q" and dqs and not held:
                bad("item %s was delivered to %s but is in %s at the end" % (
                    item, dqs[0]["value"], lst), item, [push, final] + dqs)
            elif held:
                done = [o for o in completes.get((lst, item), ())
                        if o["type"] == "ok" and o["result"] == 1]
                if done:
                    bad("item %s was completed (LREM answered 1) but is still in %s" % (item, lst),
                        item, [push, final] + dqs + done)
            elif lst != "q":
                unexplained[lst].append(item)
    for lst, items in sorted(unexplained.items()):
        if len(items) > unknown_dq[lst]:
            bad("%s holds %d items no ok BLMOVE moved there (%s) but had %d unknown BLMOVEs" % (
                lst, len(items), ", ".join(items[:5]), unknown_dq[lst]), items[0],
                [final] + [pushes.get(i) for i in items[:5]])
    for item, push in sorted(pushes.items()):
        if push["type"] != "ok" or item in where:
            continue
        dqs = delivered.get(item)
        if not dqs:
            bad("acknowledged item %s was never delivered and is not in any list at the end"
                % item, item, [push, final])
            continue
        dq = dqs[0]
        removing = [o for o in completes.get((dq["value"], item), ())
                    if o["type"] == "unknown" or (o["type"] == "ok" and o["result"] == 1)]
        if not removing:
            bad("item %s was delivered to %s, never completed, and is gone from it" % (
                item, dq["value"]), item, [push, dq, final])
    verdict["valid"] = not v
    return verdict


# ======================================================================================


def load(path):
    """The operations of a history file; a line cut short (a driver killed mid-write) is
    skipped."""
    ops = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    ops.append(json.loads(line))
                except ValueError:
                    print("checker: skipping a malformed history line: %.80s" % line,
                          file=sys.stderr)
    return ops


def summarize(history):
    c = collections.Counter()
    for op in history:
        c[(op["f"], op["type"])] += 1
    out = collections.defaultdict(dict)
    for (f, t), n in sorted(c.items()):
        out[f][t] = n
    return dict(out)


def check(history):
    regs = check_registers(history)
    apps = check_appends(history)
    queue = check_queue(history)
    valid = regs["valid"] is True and apps["valid"] is True and queue["valid"]
    return {"valid": valid, "inconclusive": regs["valid"] is None, "register": regs,
            "append": apps, "queue": queue, "ops": summarize(history)}


def save_windows(result, directory):
    """Write each violation's ops (the smallest failing window) to DIRECTORY."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name in ("register", "append", "queue"):
        for n, viol in enumerate(result[name]["violations"]):
            ops = viol["window"]["ops"] if name == "register" else viol["ops"]
            p = os.path.join(directory, "%s-%s-%d.jsonl" % (name, viol["key"], n))
            with open(p, "w") as f:
                for op in sorted(ops, key=lambda o: o["inv"]):
                    f.write(json.dumps(op) + "\n")
            paths.append(p)
    return paths


def queue_line(q):
    return ("queue: %s (pushed %d ok / %d unknown, delivered %d, completed %d, left queued %d, "
            "left in flight %d)" % ("valid" if q["valid"] else "INVALID", q["pushed_ok"],
                                    q["pushed_unknown"], q["delivered"], q["completed"],
                                    q["left_queued"], q["left_in_flight"]))


def main():
    ap = argparse.ArgumentParser(description="check a chaos history")
    ap.add_argument("history")
    ap.add_argument("--json", help="write the verdicts here")
    ap.add_argument("--windows", help="directory for the failing windows")
    a = ap.parse_args()
    res = check(load(a.history))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
    if a.windows and not res["valid"]:
        save_windows(res, a.windows)
    r, p = res["register"], res["append"]
    print("register: %s (%d keys, %d ops)" % ({True: "linearizable", False: "NOT linearizable",
                                             None: "inconclusive"}[r["valid"]], r["keys"],
                                            r["ops_checked"]))
    for viol in r["violations"]:
        print("  key %s: %s" % (viol["key"], json.dumps(viol["detail"], default=str)[:2000]))
        for pr in viol["problems"]:
            print("    " + pr)
    print("append: %s (%d keys, %d acknowledged)" % ("valid" if p["valid"] else "INVALID",
                                                     p["keys"], p["acknowledged"]))
    for viol in p["violations"]:
        print("  key %s: %s" % (viol["key"], viol["what"]))
    print(queue_line(res["queue"]))
    for viol in res["queue"]["violations"]:
        print("  " + viol["what"])
    sys.exit(0 if res["valid"] else (2 if res["inconclusive"] else 1))


if __name__ == "__main__":
    main()
