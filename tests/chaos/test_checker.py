#!/usr/bin/python3
"""The checkers on hand-made histories, linearizable and not: proof that each can fail.
Prints "N passed, N failed" on its last line; exit 0 when all pass."""
import os
import random
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402
from checker import (INF, ROp, check_appends, check_queue, check_registers,  # noqa: E402
                     linearizable)


class H:
    """A tiny history builder: times are given explicitly, ids and processes are made up."""

    def __init__(self):
        self.ops = []

    def op(self, f, key, value, inv, comp, typ="ok", result=None, **kw):
        o = {"id": len(self.ops) + 1, "p": len(self.ops), "f": f, "key": key, "value": value,
             "inv": inv, "comp": comp, "type": typ, "result": result}
        o.update(kw)
        self.ops.append(o)
        return self

    # registers
    def set(self, v, inv, comp, typ="ok", key="r"):
        return self.op("set", key, v, inv, comp, typ, "OK" if typ == "ok" else None)

    def get(self, r, inv, comp, typ="ok", key="r", **kw):
        return self.op("get", key, None, inv, comp, typ, r, **kw)

    def getset(self, v, old, inv, comp, typ="ok", key="r"):
        return self.op("getset", key, v, inv, comp, typ, old)

    def cas(self, exp, new, inv, comp, typ="ok", key="r"):
        return self.op("cas", key, [exp, new], inv, comp, typ, "OK" if typ == "ok" else None)

    # appends
    def append(self, tok, inv, comp, typ="ok", length=None, key="a"):
        return self.op("append", key, tok, inv, comp, typ, length)

    def read(self, toks, inv, comp, typ="ok", final=False, key="a"):
        val = "".join(t + "," for t in toks)
        return self.op("read", key, None, inv, comp, typ, val, **({"final": True} if final else {}))


    # queue
    def enqueue(self, item, inv, comp, typ="ok", length=1):
        return self.op("enqueue", "q", item, inv, comp, typ, length if typ == "ok" else None)

    def dequeue(self, item, inv, comp, typ="ok", consumer=1):
        # item None: BLMOVE timed out
        return self.op("dequeue", "q", "inflight:%d" % consumer, inv, comp, typ,
                       item if typ == "ok" else None, p=consumer)

    def complete(self, item, inv, comp, typ="ok", removed=1, consumer=1):
        return self.op("complete", "inflight:%d" % consumer, item, inv, comp, typ,
                       removed if typ == "ok" else None, p=consumer)

    def qread(self, q, inflight, inv, comp):
        lists = {"q": list(q)}
        for c, items in inflight.items():
            lists["inflight:%d" % c] = list(items)
        return self.op("qread", "q", sorted(lists), inv, comp, "ok", lists, final=True)


def simulated_register_history(rng, n, procs=8):
    """A linearizable history: each op gets an interval and a linearization point inside it;
    results are computed in point order. One write in 20 is reported unknown."""
    h = H()
    t = [0.0] * procs
    raw = []
    for i in range(n):
        p = rng.randrange(procs)
        inv = t[p] + rng.random()
        comp = inv + rng.random() * 5
        t[p] = comp
        raw.append((inv + (comp - inv) * rng.random(), inv, comp, rng.choice(
            ["get", "get", "set", "getset", "cas"]), "v%d" % i))
    state = None
    for point, inv, comp, f, v in sorted(raw):
        typ = "unknown" if f != "get" and rng.random() < 0.05 else "ok"
        if f == "get":
            h.get(state, inv, comp)
        elif f == "set":
            h.set(v, inv, comp, typ)
            state = v
        elif f == "getset":
            h.getset(v, state if typ == "ok" else None, inv, comp, typ)
            state = v
        else:
            h.cas(state, v, inv, comp, typ)
            state = v
    h.ops.sort(key=lambda o: o["inv"])
    return h


def simulated_queue_history(rng, n, producers=2, consumers=3, p_unknown=0.05):
    """A valid queue history: each process's next op is invoked after its last completed, and
    takes effect at a random point inside its interval, ops applied in point order. One op in
    20 is unknown (it took effect or not, at random, and ends its process); one in 20 fails."""
    import heapq
    h = H()
    q, inflight = [], {}
    pending = []  # (point, tiebreak, process, kind, comp)
    nproc = producers + consumers
    seq = [0]

    def schedule(p, after, kind):
        inv = after + rng.random()
        point = inv + rng.random()
        heapq.heappush(pending, (point, rng.random(), p, kind, inv, point + rng.random()))
    for p in range(nproc):
        schedule(p, 0.0, "enqueue" if p < producers else "dequeue")
    left = n
    while pending and left > 0:
        point, _, p, kind, inv, comp = heapq.heappop(pending)
        left -= 1
        kind, item = kind if isinstance(kind, tuple) else (kind, None)
        typ = "unknown" if rng.random() < p_unknown else ("fail" if rng.random() < 0.05 else "ok")
        happens = typ == "ok" or (typ == "unknown" and rng.random() < 0.5)
        nxt = "enqueue" if p % nproc < producers else "dequeue"
        lst = "inflight:%d" % p
        if kind == "enqueue":
            seq[0] += 1
            item = "i%d" % seq[0]
            if happens:
                q.append(item)
            h.op("enqueue", "q", item, inv, comp, typ, len(q) if typ == "ok" else None, p=p)
        elif kind == "dequeue":
            got = q.pop(0) if happens and q else None
            if got is not None:
                inflight.setdefault(lst, []).insert(0, got)
            h.op("dequeue", "q", lst, inv, comp, typ, got if typ == "ok" else None, p=p)
            if typ == "ok" and got is not None:
                nxt = ("complete", got)
        else:
            removed = 0
            if happens and item in inflight.get(lst, []):
                inflight[lst].remove(item)
                removed = 1
            h.op("complete", lst, item, inv, comp, typ, removed if typ == "ok" else None, p=p)
            if typ == "fail":
                nxt = ("complete", item)
        if typ == "unknown":
            p += nproc  # a new process, with a new inflight list
        schedule(p, comp, nxt)
    t = max(o["comp"] for o in h.ops) + 1
    inflight.setdefault("inflight:0", [])
    lists = dict(inflight, q=list(q))
    h.op("qread", "q", sorted(lists), t, t + 1, "ok", lists, final=True)
    return h


def first_comp(h, value):
    return min(o["comp"] for o in h.ops if o["f"] != "get" and (
        o["value"] == value or (isinstance(o["value"], list) and o["value"][1] == value)))


def reg_valid(h):
    return check_registers(h.ops)["valid"]


def app_valid(h):
    return check_appends(h.ops)["valid"]


def lengths(toks):
    out, n = {}, 0
    for t in toks:
        n += len(t) + 1
        out[t] = n
    return out


class RegisterTests(unittest.TestCase):
    def test_sequential_write_then_read_is_linearizable(self):
        # The simplest valid history.
        self.assertTrue(reg_valid(H().set("a", 0, 1).get("a", 2, 3)))

    def test_nil_read_before_any_write_is_the_initial_state(self):
        # Reading nil first is fine; nil after a completed write is not.
        self.assertTrue(reg_valid(H().get(None, 0, 1).set("a", 2, 3)))
        self.assertFalse(reg_valid(H().set("a", 0, 1).get(None, 2, 3)))

    def test_stale_read_is_caught(self):
        # b overwrote a before the read began: reading a is stale.
        h = H().set("a", 0, 1).set("b", 2, 3).get("a", 4, 5)
        self.assertFalse(reg_valid(h))

    def test_concurrent_read_may_see_old_or_new(self):
        # A read overlapping the write of b may return a or b.
        self.assertTrue(reg_valid(H().set("a", 0, 1).set("b", 2, 6).get("a", 3, 4)))
        self.assertTrue(reg_valid(H().set("a", 0, 1).set("b", 2, 6).get("b", 3, 4)))

    def test_reads_cannot_go_back_in_time(self):
        # Once a read saw b, a later read cannot see a again.
        h = H().set("a", 0, 1).set("b", 2, 10).get("b", 3, 4).get("a", 5, 6)
        self.assertFalse(reg_valid(h))

    def test_read_of_a_value_never_written_is_caught(self):
        # Garbage (or another key's value) in a read.
        self.assertFalse(reg_valid(H().set("a", 0, 1).get("zz", 2, 3)))

    def test_read_of_a_definitely_failed_write_is_caught(self):
        # A write answered MOVED/TRYAGAIN must not have taken effect.
        self.assertFalse(reg_valid(H().set("a", 0, 1).set("b", 2, 3, "fail").get("b", 4, 5)))

    def test_getset_old_value_is_verified(self):
        # GETSET must return the value it replaced.
        self.assertTrue(reg_valid(H().set("a", 0, 1).getset("b", "a", 2, 3).get("b", 4, 5)))
        self.assertFalse(reg_valid(H().set("a", 0, 1).getset("b", None, 2, 3)))

    def test_lost_update_with_two_swaps_seeing_the_same_old_value(self):
        # Two concurrent GETSETs both replacing a: one of the updates was lost.
        h = H().set("a", 0, 1).getset("b", "a", 2, 10).getset("c", "a", 3, 11)
        self.assertFalse(reg_valid(h))
        h = H().set("a", 0, 1).getset("b", "a", 2, 10).getset("c", "b", 3, 11)
        self.assertTrue(reg_valid(h))

    def test_lost_update_with_two_successful_cas_from_the_same_value(self):
        # Compare-and-set from a to b and from a to c cannot both succeed.
        h = H().set("a", 0, 1).cas("a", "b", 2, 10).cas("a", "c", 3, 11)
        self.assertFalse(reg_valid(h))
        h = H().set("a", 0, 1).cas("a", "b", 2, 10).cas("b", "c", 3, 11)
        self.assertTrue(reg_valid(h))

    def test_cas_on_a_value_that_was_gone_is_caught(self):
        # a was overwritten by b before the CAS began: cas(a -> c) cannot succeed.
        self.assertFalse(reg_valid(H().set("a", 0, 1).set("b", 2, 3).cas("a", "c", 4, 5)))

    def test_unknown_write_may_take_effect(self):
        # A timed-out write whose value is read later did happen.
        h = H().set("a", 0, 1).set("b", 2, 3, "unknown").get("b", 10, 11)
        self.assertTrue(reg_valid(h))

    def test_unknown_write_may_never_take_effect(self):
        # A timed-out write nobody observed may simply not have happened.
        h = H().set("a", 0, 1).set("b", 2, 3, "unknown").get("a", 10, 11).get("a", 12, 13)
        self.assertTrue(reg_valid(h))

    def test_unknown_write_takes_effect_at_most_once(self):
        # Seen, then the old value again, then seen again: not one point in time.
        h = (H().set("a", 0, 1).set("b", 2, 3, "unknown").get("b", 10, 11).get("a", 12, 13)
             .get("b", 14, 15))
        self.assertFalse(reg_valid(h))

    def test_unknown_write_cannot_take_effect_before_it_was_sent(self):
        # A read that finished before the write was invoked cannot see it.
        h = H().set("a", 0, 1).get("b", 2, 3).set("b", 4, 5, "unknown")
        self.assertFalse(reg_valid(h))

    def test_unknown_write_may_take_effect_long_after_its_timeout(self):
        # The server may apply an unknown write later than the client gave up.
        h = H().set("a", 0, 1).set("b", 2, 3, "unknown").get("a", 5, 6).get("b", 20, 21)
        self.assertTrue(reg_valid(h))

    def test_search_without_pruning_agrees(self):
        # The generic optional-op search gives the same verdicts as the pruned one.
        cases = [
            (H().set("a", 0, 1).set("b", 2, 3, "unknown").get("b", 10, 11), True),
            (H().set("a", 0, 1).set("b", 2, 3, "unknown").get("a", 10, 11), True),
            (H().set("a", 0, 1).set("b", 2, 3, "unknown").get("b", 10, 11).get("a", 12, 13), False),
            (H().set("a", 0, 1).cas("a", "b", 2, 3, "unknown").cas("a", "c", 4, 5), True),
            (H().set("a", 0, 1).cas("a", "b", 2, 3, "unknown").get("b", 4, 5)
             .cas("a", "c", 6, 7), False),
        ]
        for h, expected in cases:
            ops, _ = checker.prepare_register(h.ops, prune=False)
            self.assertEqual(linearizable(ops).ok, expected, h.ops)
            self.assertEqual(reg_valid(h), expected, h.ops)

    def test_keys_are_checked_independently(self):
        # Each key is its own register; a violation on one key is reported for that key.
        h = H().set("a", 0, 1, key="x").set("a", 0, 1, key="y").get("a", 2, 3, key="x")
        h.set("b", 4, 5, key="y").get("a", 6, 7, key="y")
        v = check_registers(h.ops)
        self.assertFalse(v["valid"])
        self.assertEqual([x["key"] for x in v["violations"]], ["y"])

    def test_failing_window_is_small(self):
        # A long valid prefix followed by one stale read: the window holds only the end.
        h = H()
        t = 0
        for i in range(200):
            h.set("v%d" % i, t, t + 1).get("v%d" % i, t + 2, t + 3)
            t += 4
        h.get("v150", t, t + 1)
        v = check_registers(h.ops)
        self.assertFalse(v["valid"])
        w = v["violations"][0]["window"]
        self.assertLessEqual(len(w["ops"]), 4)
        self.assertIn("v150", [o["result"] for o in w["ops"]])

    def test_simulated_linearizable_histories_pass_and_a_stale_read_fails(self):
        # 8 processes, 3000 random ops with random overlap, results computed at a random
        # linearization point inside each interval (some writes unknown): always valid, and
        # fast; turning one read into a stale one is caught.
        h = simulated_register_history(random.Random(7), 3000)
        self.assertTrue(reg_valid(h))
        stale = None
        for o in h.ops:
            if o["f"] == "get" and o["result"] is not None:
                if stale is None:
                    stale = o["result"]
                elif o["result"] != stale and o["inv"] > first_comp(h, stale) + 50:
                    o["result"] = stale
                    break
        self.assertFalse(reg_valid(h))

    def test_budget_exhaustion_is_inconclusive_not_valid(self):
        # A search that runs out of budget must not be reported as linearizable.
        ops = [ROp("set", "v%d" % i, None, 0, 100) for i in range(12)]
        ops.append(ROp("get", None, "nope", 101, 102))
        res = linearizable(ops, max_steps=50)
        self.assertFalse(res.ok)
        self.assertTrue(res.inconclusive)

    def test_required_unknown_completion(self):
        # A required op with no completion must still be linearized somewhere.
        ops = [ROp("set", "a", None, 0, 1), ROp("set", "b", None, 2, INF),
               ROp("get", None, "a", 3, 4)]
        self.assertTrue(linearizable(ops).ok)
        ops.append(ROp("get", None, "c", 5, 6))
        self.assertFalse(linearizable(ops).ok)


class AppendTests(unittest.TestCase):
    def valid_history(self):
        L = lengths(["1.1", "2.1", "1.2"])
        return (H().append("1.1", 0, 1, length=L["1.1"]).append("2.1", 2, 3, length=L["2.1"])
                .read(["1.1", "2.1"], 4, 5).append("1.2", 6, 7, length=L["1.2"])
                .read(["1.1", "2.1", "1.2"], 8, 9, final=True))

    def test_valid_history_passes(self):
        # Sequential appends and reads, all consistent.
        self.assertTrue(app_valid(self.valid_history()))

    def test_duplicated_token_is_caught(self):
        # An append applied twice (a retried entry, a replayed log).
        L = lengths(["1.1", "2.1"])
        h = (H().append("1.1", 0, 1, length=L["1.1"]).append("2.1", 2, 3, length=L["2.1"])
             .read(["1.1", "2.1", "1.1"], 4, 5, final=True))
        self.assertFalse(app_valid(h))

    def test_lost_acknowledged_append_is_caught(self):
        # 2.1 was acknowledged but is not in the final value.
        L = lengths(["1.1", "2.1"])
        h = (H().append("1.1", 0, 1, length=L["1.1"]).append("2.1", 2, 3, length=L["2.1"])
             .read(["1.1"], 4, 5, final=True))
        self.assertFalse(app_valid(h))

    def test_observed_then_lost_token_is_caught(self):
        # An unknown append was read once, then vanished (a rolled-back commit).
        h = (H().append("1.1", 0, 1, length=4).append("2.1", 2, 3, "unknown")
             .read(["1.1", "2.1"], 4, 5).read(["1.1"], 6, 7, final=True))
        self.assertFalse(app_valid(h))

    def test_reordered_appends_are_caught(self):
        # 1.1 was acknowledged before 2.1 was sent, yet 2.1 comes first.
        L = lengths(["2.1", "1.1"])
        h = (H().append("1.1", 0, 1, length=L["1.1"]).append("2.1", 2, 3, length=L["2.1"])
             .read(["2.1", "1.1"], 4, 5, final=True))
        self.assertFalse(app_valid(h))

    def test_concurrent_appends_may_land_in_either_order(self):
        # Overlapping appends: either order is linearizable.
        L = lengths(["2.1", "1.1"])
        h = (H().append("1.1", 0, 3, length=L["1.1"]).append("2.1", 1, 2, length=L["2.1"])
             .read(["2.1", "1.1"], 4, 5, final=True))
        self.assertTrue(app_valid(h))

    def test_reads_that_disagree_on_order_are_caught(self):
        # Two replicas served diverging values: not prefixes of one order.
        h = (H().append("1.1", 0, 10, length=4).append("2.1", 0, 10, length=8)
             .read(["1.1"], 1, 2).read(["2.1", "1.1"], 11, 12, final=True))
        self.assertFalse(app_valid(h))

    def test_token_never_appended_is_caught(self):
        # A token no client ever sent.
        h = H().append("1.1", 0, 1, length=4).read(["1.1", "9.9"], 2, 3, final=True)
        self.assertFalse(app_valid(h))

    def test_failed_append_present_is_caught(self):
        # MOVED/TRYAGAIN means not applied: the token must not appear.
        h = H().append("1.1", 0, 1, length=4).append("2.1", 2, 3, "fail").read(
            ["1.1", "2.1"], 4, 5, final=True)
        self.assertFalse(app_valid(h))

    def test_unknown_append_may_or_may_not_be_present(self):
        # A timed-out append is acceptable either way.
        h1 = H().append("1.1", 0, 1, length=4).append("2.1", 2, 3, "unknown").read(
            ["1.1", "2.1"], 4, 5, final=True)
        h2 = H().append("1.1", 0, 1, length=4).append("2.1", 2, 3, "unknown").read(
            ["1.1"], 4, 5, final=True)
        self.assertTrue(app_valid(h1))
        self.assertTrue(app_valid(h2))

    def test_unknown_append_cannot_appear_before_it_was_sent(self):
        # A read that completed before the append was invoked cannot contain it.
        h = (H().append("1.1", 0, 1, length=4).read(["1.1", "2.1"], 2, 3)
             .append("2.1", 4, 5, "unknown").read(["1.1", "2.1"], 6, 7, final=True))
        self.assertFalse(app_valid(h))

    def test_stale_read_is_caught(self):
        # 2.1 was acknowledged before the read began, but the read lacks it.
        L = lengths(["1.1", "2.1"])
        h = (H().append("1.1", 0, 1, length=L["1.1"]).append("2.1", 2, 3, length=L["2.1"])
             .read(["1.1"], 4, 5).read(["1.1", "2.1"], 6, 7, final=True))
        self.assertFalse(app_valid(h))

    def test_non_monotonic_reads_are_caught(self):
        # A later read returning less than an earlier one (both prefixes of the final value).
        h = (H().append("1.1", 0, 1, length=4).append("2.1", 2, 20, length=8)
             .read(["1.1", "2.1"], 3, 4).read(["1.1"], 5, 6)
             .read(["1.1", "2.1"], 21, 22, final=True))
        self.assertFalse(app_valid(h))

    def test_wrong_append_length_is_caught(self):
        # APPEND's reply must be the length of the value it produced.
        h = H().append("1.1", 0, 1, length=4).append("2.1", 2, 3, length=4).read(
            ["1.1", "2.1"], 4, 5, final=True)
        self.assertFalse(app_valid(h))

    def test_missing_final_read_is_not_a_pass(self):
        # Without a final read, lost acknowledged appends cannot be ruled out.
        h = H().append("1.1", 0, 1, length=4).read(["1.1"], 2, 3)
        self.assertFalse(app_valid(h))

    def test_malformed_value_is_caught(self):
        # A value that is not a list of "token," records.
        h = H().append("1.1", 0, 1, length=4)
        h.op("read", "a", None, 2, 3, "ok", "1.1,x", final=True)
        self.assertFalse(app_valid(h))


def queue_valid(h):
    return check_queue(h.ops)["valid"]


class QueueTests(unittest.TestCase):
    def clean_history(self):
        # a and b pushed; a delivered and completed, b delivered and held; c still queued;
        # one BLMOVE timed out on an empty queue.
        return (H().enqueue("a", 0, 1).enqueue("b", 1, 2, length=2).dequeue("a", 2, 3)
                .complete("a", 3, 4).dequeue("b", 4, 5).dequeue(None, 5, 7, consumer=2)
                .enqueue("c", 8, 9).qread(["c"], {1: ["b"], 2: []}, 20, 21))

    def test_clean_history_passes(self):
        # Every acknowledged item delivered once or still in a list, once.
        v = check_queue(self.clean_history().ops)
        self.assertTrue(v["valid"], v["violations"])
        self.assertEqual((v["pushed_ok"], v["delivered"], v["completed"], v["left_queued"],
                          v["left_in_flight"], v["dequeue_timeouts"]), (3, 2, 1, 1, 1, 1))

    def test_lost_item_is_caught(self):
        # c was acknowledged, never delivered, and is in no list at the end.
        h = (H().enqueue("a", 0, 1).enqueue("c", 1, 2).dequeue("a", 2, 3).complete("a", 3, 4)
             .qread([], {1: []}, 10, 11))
        self.assertFalse(queue_valid(h))

    def test_item_lost_from_its_inflight_list_is_caught(self):
        # Delivered, never completed, yet gone from its consumer's list.
        h = H().enqueue("a", 0, 1).dequeue("a", 2, 3).qread([], {1: []}, 10, 11)
        self.assertFalse(queue_valid(h))

    def test_duplicate_delivery_is_caught(self):
        # Two ok BLMOVEs returned the same item (a pop applied twice).
        h = (H().enqueue("a", 0, 1).dequeue("a", 2, 3).complete("a", 3, 4)
             .dequeue("a", 2, 5, consumer=2).complete("a", 5, 6, consumer=2)
             .qread([], {1: [], 2: []}, 10, 11))
        self.assertFalse(queue_valid(h))

    def test_delivered_completed_and_still_queued_is_caught(self):
        # a was delivered and completed, but the pop did not remove it from q.
        h = (H().enqueue("a", 0, 1).dequeue("a", 2, 3).complete("a", 3, 4)
             .qread(["a"], {1: []}, 10, 11))
        self.assertFalse(queue_valid(h))

    def test_completed_and_still_in_flight_is_caught(self):
        # LREM answered 1 but the item is still in the inflight list.
        h = (H().enqueue("a", 0, 1).dequeue("a", 2, 3).complete("a", 3, 4)
             .qread([], {1: ["a"]}, 10, 11))
        self.assertFalse(queue_valid(h))

    def test_item_present_twice_at_the_end_is_caught(self):
        # One RPUSH, two copies in the final lists.
        h = H().enqueue("a", 0, 1).qread(["a", "a"], {}, 10, 11)
        self.assertFalse(queue_valid(h))
        h = H().enqueue("a", 0, 1, "unknown").dequeue(None, 2, 3, "unknown").qread(
            ["a"], {1: ["a"]}, 10, 11)
        self.assertFalse(queue_valid(h))

    def test_lrem_of_a_held_item_must_remove_it(self):
        # The consumer holds a (its BLMOVE returned it): LREM answering 0 means it vanished.
        h = (H().enqueue("a", 0, 1).dequeue("a", 2, 3).complete("a", 3, 4, removed=0)
             .qread([], {1: []}, 10, 11))
        v = check_queue(h.ops)
        self.assertFalse(v["valid"])
        self.assertIn("answered 0", " ".join(x["what"] for x in v["violations"]))

    def test_unknown_push_may_be_absent_delivered_or_present(self):
        # A timed-out RPUSH may or may not have happened.
        base = lambda: H().enqueue("a", 0, 1, "unknown")  # noqa: E731
        self.assertTrue(queue_valid(base().qread([], {}, 10, 11)))
        self.assertTrue(queue_valid(base().qread(["a"], {}, 10, 11)))
        self.assertTrue(queue_valid(base().dequeue("a", 2, 3).complete("a", 3, 4)
                                    .qread([], {1: []}, 10, 11)))

    def test_unknown_dequeue_item_in_own_list_or_queue_but_not_elsewhere(self):
        # An unknown BLMOVE may have moved a into its own list, or not have popped.
        base = lambda: H().enqueue("a", 0, 1).dequeue(None, 2, 3, "unknown")  # noqa: E731
        self.assertTrue(queue_valid(base().qread([], {1: ["a"]}, 10, 11)))
        self.assertTrue(queue_valid(base().qread(["a"], {1: []}, 10, 11)))
        self.assertFalse(queue_valid(base().qread([], {2: ["a"]}, 10, 11)))
        # One unknown BLMOVE explains one item, not two.
        h = (H().enqueue("a", 0, 1).enqueue("b", 0, 1).dequeue(None, 2, 3, "unknown")
             .qread([], {1: ["a", "b"]}, 10, 11))
        self.assertFalse(queue_valid(h))

    def test_item_in_another_consumers_list_is_caught(self):
        # Delivered to consumer 1, found in consumer 2's list.
        h = H().enqueue("a", 0, 1).dequeue("a", 2, 3).qread([], {1: [], 2: ["a"]}, 10, 11)
        self.assertFalse(queue_valid(h))

    def test_never_pushed_or_failed_push_items_are_caught(self):
        # Delivered or present items must come from an RPUSH that may have happened.
        self.assertFalse(queue_valid(H().enqueue("a", 0, 1).qread(["a", "zz"], {}, 10, 11)))
        self.assertFalse(queue_valid(H().enqueue("a", 0, 1, "fail").qread(["a"], {}, 10, 11)))
        h = H().enqueue("a", 0, 1, "fail").dequeue("a", 2, 3).complete("a", 3, 4).qread(
            [], {1: []}, 10, 11)
        self.assertFalse(queue_valid(h))

    def test_delivery_before_the_push_was_sent_is_caught(self):
        # A BLMOVE that completed before the RPUSH was invoked cannot return its item.
        h = H().dequeue("a", 0, 1).enqueue("a", 2, 3).qread([], {1: ["a"]}, 10, 11)
        self.assertFalse(queue_valid(h))

    def test_missing_final_read_is_not_a_pass(self):
        # Without the final lists, lost items cannot be ruled out.
        self.assertFalse(queue_valid(H().enqueue("a", 0, 1)))

    def test_uncompleted_held_item_may_stay_or_go_after_an_unknown_lrem(self):
        # A held item with an unknown LREM may be in its list at the end or not.
        base = lambda: H().enqueue("a", 0, 1).dequeue("a", 2, 3).complete(  # noqa: E731
            "a", 3, 4, "unknown")
        self.assertTrue(queue_valid(base().qread([], {1: ["a"]}, 10, 11)))
        self.assertTrue(queue_valid(base().qread([], {1: []}, 10, 11)))

    def test_simulated_queue_histories_pass_and_mutations_fail(self):
        # Random valid histories (2 producers, 3 consumers, unknown and failed ops) pass; an
        # acknowledged item dropped from the final lists (not one an unknown LREM may have
        # removed), a second delivery of one item, and a completed item put back in q are each
        # caught.
        import copy
        for seed in range(20):
            h = simulated_queue_history(random.Random(seed), 400)
            v = check_queue(h.ops)
            self.assertTrue(v["valid"], (seed, v["violations"][:3]))
            self.assertGreater(v["completed"], 20)
            final = h.ops[-1]["result"]
            pushed_ok = {o["value"] for o in h.ops if o["f"] == "enqueue" and o["type"] == "ok"}
            maybe_done = {o["value"] for o in h.ops if o["f"] == "complete"
                          and o["type"] == "unknown"}
            present = [(k, x) for k, items in sorted(final.items()) for x in items
                       if x in pushed_ok and x not in maybe_done]
            delivered = [o for o in h.ops if o["f"] == "dequeue" and o["type"] == "ok"
                         and o["result"] is not None]
            completed = [o for o in h.ops if o["f"] == "complete" and o["type"] == "ok"]
            if present:
                m = copy.deepcopy(h)
                k, x = present[seed % len(present)]
                m.ops[-1]["result"][k].remove(x)
                self.assertFalse(queue_valid(m), (seed, "dropped", x))
            m = copy.deepcopy(h)
            i = seed % (len(delivered) - 1)
            dq = next(o for o in m.ops if o["id"] == delivered[i + 1]["id"])
            dq["result"] = delivered[i]["result"]
            self.assertFalse(queue_valid(m), (seed, "delivered twice"))
            m = copy.deepcopy(h)
            m.ops[-1]["result"]["q"].append(completed[seed % len(completed)]["value"])
            self.assertFalse(queue_valid(m), (seed, "completed and queued"))

    def test_whole_history_check_includes_the_queue(self):
        # checker.check fails the run on a queue violation alone.
        h = H().enqueue("a", 0, 1).qread([], {}, 10, 11)
        self.assertFalse(checker.check(h.ops)["valid"])
        self.assertTrue(checker.check(self.clean_history().ops)["valid"])


class DriverRuleTests(unittest.TestCase):
    def test_error_classes(self):
        # MOVED, CLUSTERDOWN and TRYAGAIN were not applied; anything else is unknown.
        try:
            from common import error_kind, moved_target
        except ImportError:
            self.skipTest("python3-redis missing")
        self.assertEqual(error_kind("MOVED 1 127.0.0.1:1"), "fail")
        self.assertEqual(error_kind("CLUSTERDOWN no leader"), "fail")
        self.assertEqual(error_kind("TRYAGAIN leadership changed"), "fail")
        self.assertEqual(error_kind("UNCERTAIN leadership was lost"), "unknown")
        self.assertEqual(error_kind("TIMEOUT not committed"), "unknown")
        self.assertEqual(error_kind("ERR something new"), "unknown")
        # A blocked client's texts (src/blocked.h): nothing popped, or a pop in flight.
        self.assertEqual(error_kind("TRYAGAIN leadership was lost while the client was "
                                    "blocked; nothing was popped"), "fail")
        self.assertEqual(error_kind("UNCERTAIN leadership was lost while the blocked client's "
                                    "pop was in flight; it may or may not have popped"), "unknown")
        self.assertEqual(moved_target("MOVED 7629 127.0.0.1:27102"), "127.0.0.1:27102")
        self.assertIsNone(moved_target("ERR x"))


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=1 if "-q" in sys.argv else 2).run(suite)
    failed = len(res.failures) + len(res.errors)
    print("%d passed, %d failed" % (res.testsRun - failed, failed))
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
