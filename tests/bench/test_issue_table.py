"""The suite's summary fills the issue's table from one run's report (bench/issue_table.py):
every row present when its scenario ran, throughput beside the floor and raw PostgreSQL of
the same run, and a verdict only where the issue sets a target."""

from bench import issue_table

SIDES = {
    "oms": {"orders_per_second": 200.0, "latency_ms": {"p99": 300.0}},
    "oms_batch": {"orders_per_second": 800.0, "latency_ms": {"p99": 900.0}},
    "floor": {"orders_per_second": 400.0, "latency_ms": {"p99": 200.0}},
    "raw_pg": {"orders_per_second": 1600.0, "latency_ms": None},
}
REPORT = {"scenarios": {
    "floor": {"sides": SIDES},
    "ingest": {"passed": True, "closed_loop": {"orders_per_second": 250.0},
               "open_loop_at_80_percent": {"offered": 200.0, "achieved": 199.5,
                                           "latency_ms": {"p99": 41.0}}},
    "e2e": {"passed": False, "spread": {
        "venues": ["XMOCK", "XFAST", "XSLOW"], "offered_rate": 200.0,
        "api": {"achieved_rate": 160.0}, "acknowledged_at_venues": 1600,
        "orders_created": 1600, "e2e_latency_ms_acknowledged": {"p50": 90.0},
        "e2e_p99_ms_all_orders": 400.0}},
    "throttle": {"runs": [
        {"limit": 20, "utilization": 0.96, "max_in_any_sliding_second": 20, "violations": 0},
        {"limit": 1000, "utilization": 0.9, "max_in_any_sliding_second": 1000,
         "violations": 0}]},
    "trickle": {"passed": True, "rate": 60, "sides": {
        "waiting": {"cpu_ms_per_order": {"dispatchers": 1.5, "fix_holder": 3.0}},
        "per_task": {"cpu_ms_per_order": {"dispatchers": 6.0, "fix_holder": 3.1}}}},
    "latency": {"passed": False, "one_in_flight": {"overhead_ms": 1.2, "median_us": 6200,
                                                   "samples": 100}},
}}


def test_every_row_of_the_issue_is_filled_with_its_ratio_to_the_floor_and_raw_postgres():
    rows = {row["figure"].split(",")[0].split(" (")[0]: row for row in issue_table.rows(REPORT)}

    intake = rows["single-order intake"]
    assert (intake["to_floor"], intake["to_raw_pg"], intake["verdict"]) == (0.5, 0.125, "missed")
    assert rows["the floor"]["to_raw_pg"] == 0.25 and rows["the floor"]["verdict"] == "-"
    batch = rows["batch intake"]
    assert (batch["to_floor"], batch["verdict"]) == (2.0, "missed")  # 800 < 2,500
    assert rows["p99 ACK at 80% of the saturated rate"]["verdict"] == "met"
    assert "41.0 ms" in rows["p99 ACK at 80% of the saturated rate"]["measured"]
    assert rows["end to end"]["verdict"] == "missed"
    assert "1600 of 1600 acknowledged" in rows["end to end"]["measured"]
    assert rows["send-limit use under a backlog"]["verdict"] == "missed"  # 0.9 at L=1,000
    assert rows["dispatcher CPU per order at a trickle"]["verdict"] == "met"
    assert rows["latency accuracy"]["verdict"] == "missed"

    text = issue_table.markdown(REPORT)
    assert text.count("\n| ") == 1 + 9  # the header and nine rows


def test_a_scenario_that_did_not_run_leaves_its_rows_out():
    only_floor = {"scenarios": {"floor": REPORT["scenarios"]["floor"]}}
    assert [row["figure"].split(",")[0] for row in issue_table.rows(only_floor)] == [
        "single-order intake", "the floor (bench/floor/: Django + DRF", "raw PostgreSQL",
        "batch intake (100 orders a request"]
    assert issue_table.markdown({"scenarios": {}}) == ""


def test_the_suites_summary_opens_with_the_table_and_its_report_carries_it(tmp_path,
                                                                          monkeypatch):
    from bench import suite as suite_module

    monkeypatch.setattr(suite_module, "RESULTS", tmp_path)
    suite = suite_module.Suite(quick=True, scenarios=[], database="unused")
    # What the floor's own table needs besides.
    floor = {"sides": {name: {**side, "total_cpu_ms_per_order": 1.0, "errors": {}}
                       for name, side in SIDES.items()},
             "how": {"connections": 32, "rounds": 1, "slice_s": 5},
             "ratios": {"oms_to_floor_by_round": [0.5], "cpu_oms_over_floor": 1.6}}
    suite.report["scenarios"] = {**REPORT["scenarios"], "floor": floor}

    assert suite.summary().startswith("### The issue's table, from this run")
    suite.save()
    saved = (tmp_path / "report.json").read_text()
    assert '"issue_table"' in saved and "single-order intake" in saved
