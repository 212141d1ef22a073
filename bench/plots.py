"""PNG plots of a suite run (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _cdf(ax, samples: list[float], label: str) -> None:
    if not samples:
        return
    ordered = sorted(samples)
    n = len(ordered)
    ax.plot(ordered, [(i + 1) / n for i in range(n)], label=f"{label} (n={n})")


def write_all(data: dict, out: Path) -> list[Path]:
    plt = _pyplot()
    written: list[Path] = []

    def save(fig, name: str) -> None:
        path = out / name
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    # Latency CDFs: API ACK (ingest), POST -> venue ACK (e2e).
    if data.get("ingest_cdf") or data.get("e2e_cdf"):
        fig, ax = plt.subplots(figsize=(8, 5))
        _cdf(ax, data.get("ingest_cdf", []), "ingest: POST ACK at 1,000/s offered")
        _cdf(ax, data.get("ingest_80_cdf", []), "ingest: POST ACK at 80% of the closed-loop rate")
        _cdf(ax, data.get("e2e_cdf", []),
             "e2e, 3 venues: accepted -> venue ACK (150=0) in our books")
        _cdf(ax, data.get("e2e_overload_cdf", []), "e2e, 1 venue, 1,000/s offered")
        for x, label in ((50, "50 ms"), (250, "250 ms")):
            ax.axvline(x, linestyle=":", color="grey")
            ax.text(x, 0.02, label, rotation=90, color="grey")
        ax.set_xscale("log")
        ax.set_xlabel("latency, ms (log)")
        ax.set_ylabel("fraction of requests")
        ax.set_title("Latency CDF")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        save(fig, "latency_cdf.png")

    # Sends per second at the venue against the limit.
    wires = []
    for key, name in (("e2e_wire", "e2e, first of 3 venues"),
                      ("e2e_overload_wire", "e2e, 1 venue, 1,000/s offered")):
        if data.get(key):
            per_second, limit = data[key]
            wires.append((name, per_second, limit))
    for limit, per_second in (data.get("throttle_wire") or {}).items():
        wires.append((f"throttle L={limit}", per_second, limit))
    if wires:
        fig, axes = plt.subplots(len(wires), 1, figsize=(8, 3 * len(wires)), squeeze=False)
        for ax, (name, per_second, limit) in zip(axes[:, 0], wires):
            ax.bar(range(len(per_second)), per_second, label="sends received (per second)")
            ax.axhline(limit, color="red", linestyle="--", label=f"limit {limit}/s")
            ax.set_title(f"{name}: sends per second at the exchange")
            ax.set_xlabel("second since the first send")
            ax.legend(loc="lower right")
        save(fig, "sends_per_second.png")

    # Queue depth over time.
    series = [(k, data[k]) for k in ("e2e_queue", "e2e_overload_queue") if data.get(k)]
    if data.get("soak"):
        series.append(("soak", data["soak"]))
    if series:
        fig, ax = plt.subplots(figsize=(8, 4))
        for name, samples in series:
            ax.plot([s["t"] for s in samples], [s["queued"] for s in samples],
                    label=f"{name}: QUEUED requests")
        ax.set_xlabel("seconds")
        ax.set_ylabel("queued requests")
        ax.set_title("Queue depth over time (sampled from PostgreSQL)")
        ax.legend()
        ax.grid(alpha=0.3)
        save(fig, "queue_depth.png")

    # The floor: each slice's orders/s, side by side in run order, and the latency CDFs.
    if data.get("floor"):
        _floor(plt, data["floor"], save)
    if data.get("trickle"):
        _trickle(plt, data["trickle"], save)

    # RSS during the soak.
    if data.get("soak") and "rss_mb" in data["soak"][0]:
        fig, ax = plt.subplots(figsize=(8, 4))
        for group in data["soak"][0]["rss_mb"]:
            ax.plot([s["t"] for s in data["soak"]], [s["rss_mb"][group] for s in data["soak"]],
                    label=group)
        ax.set_xlabel("seconds")
        ax.set_ylabel("RSS, MiB (processes and children)")
        ax.set_title("Soak: resident memory")
        ax.legend()
        ax.grid(alpha=0.3)
        save(fig, "soak_rss.png")
    return written


def _floor(plt, floor: dict, save) -> None:
    colors = {"oms": "tab:blue", "oms_batch": "tab:purple", "floor": "tab:orange",
              "raw_pg": "tab:green"}
    labels = {"oms": "our intake", "oms_batch": "our batch intake (100 a request)",
              "floor": "the floor (Django + DRF, same inserts)",
              "raw_pg": "raw PostgreSQL (same rows)"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    seen = set()
    for i, (side, rate) in enumerate(floor["slices"]):
        left.bar(i, rate, color=colors[side],
                 label=None if side in seen else labels[side])
        seen.add(side)
    left.set_xlabel("slice, in run order (one side loaded at a time)")
    left.set_ylabel("orders/s")
    left.set_title("Orders/s per slice, interleaved")
    left.legend(fontsize="small")
    left.grid(axis="y", alpha=0.3)
    _cdf(right, floor.get("oms_cdf", []), "our intake: POST ACK")
    _cdf(right, floor.get("floor_cdf", []), "the floor: POST ACK")
    right.set_xscale("log")
    right.set_xlabel("latency, ms (log), closed loop")
    right.set_ylabel("fraction of requests")
    right.set_title("Latency CDF at the same connections")
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize="small")
    save(fig, "floor.png")


def _trickle(plt, sides: dict, save) -> None:
    """CPU an order at a trickle, by process group, for each way of draining."""
    groups = list(next(iter(sides.values()))["cpu_ms_per_order"])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(sides)
    for i, (side, figures) in enumerate(sides.items()):
        ax.bar([g + i * width for g in range(len(groups))],
               [figures["cpu_ms_per_order"][name] for name in groups], width, label=side)
    ax.set_xticks([g + width * (len(sides) - 1) / 2 for g in range(len(groups))], groups)
    ax.axhline(2.0, color="red", linestyle="--", linewidth=1, label="target: dispatchers 2 ms")
    ax.set_ylabel("CPU ms an order")
    ax.set_title("Dispatch at a trickle (60 orders/s): CPU an order")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    save(fig, "trickle.png")


def routing_plot(result: dict, rows: list[dict], path: Path) -> Path:
    """The routing benchmark (bench/scenarios/routing.py): each policy's cost against the
    arrival mid, fees included, with its 95% interval (over every order that filled, and over
    the orders every policy filled in full), its fill rate, and each order's improvement
    over the baseline against its size."""
    plt = _pyplot()
    policies = result["policies"]
    names = list(policies)
    full = result["all_filled_in_full"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))

    ax = axes[0]
    width = 0.38
    for offset, source, label in (
            (-width / 2, {p: policies[p]["allin_bps"] for p in names},
             "every order that filled"),
            (width / 2, {p: full[p]["allin_bps"] for p in names},
             f"the {full['orders']} orders all filled in full")):
        means = [source[p]["mean"] or 0 for p in names]
        errors = [source[p]["ci95"] or 0 for p in names]
        ax.bar([i + offset for i in range(len(names))], means, width, yerr=errors, capsize=3,
               label=label)
    ax.set_xticks(range(len(names)), names)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_ylabel("cost vs arrival mid incl. fees, bps (mean per order)")
    ax.set_title("Execution cost (positive = worse than mid)")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)

    ax = axes[1]
    rates = [100 * (policies[p]["fill_rate"] or 0) for p in names]
    ax.bar(names, rates, color="tab:green")
    for i, rate in enumerate(rates):
        ax.text(i, rate, f"{rate:.1f}%", ha="center", va="bottom")
    ax.set_ylim(0, 105)
    ax.set_ylabel("filled / ordered, % of shares")
    ax.set_title("Fill rate")

    ax = axes[2]
    baseline = result["baseline"]
    by_case: dict = {}
    for row in rows:
        if not row.get("error") and row.get("allin_bps") is not None:
            by_case.setdefault(row["n"], {})[row["policy"]] = row
    for policy, color in zip([p for p in names if p != baseline], ("tab:blue", "tab:orange",
                                                                   "tab:purple")):
        for same, marker, note in ((True, "o", "same fill"), (False, "x", "filled more")):
            points = [(float(c[policy]["quantity"]),
                       c[baseline]["allin_bps"] - c[policy]["allin_bps"])
                      for c in by_case.values() if policy in c and baseline in c
                      and (float(c[policy]["filled"]) == float(c[baseline]["filled"])) == same]
            if points:
                ax.scatter([q for q, _ in points], [d for _, d in points], s=10, alpha=0.5,
                           marker=marker, color=color, label=f"{policy} ({note})")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("order size, shares (log)")
    ax.set_ylabel(f"{baseline} cost - policy cost, bps (fees incl.)")
    ax.set_title(f"Per order: improvement over {baseline}")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.suptitle(f"Routing quality: {result['orders']} parent orders, seed {result['seed']}, "
                 f"three venues (mock exchange, books pinned per order)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
