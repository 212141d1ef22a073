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
        _cdf(ax, data.get("e2e_cdf", []), "e2e: order accepted -> venue ACK (150=0) in our books")
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
    if data.get("e2e_wire"):
        per_second, limit = data["e2e_wire"]
        wires.append(("e2e", per_second, limit))
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
    series = [(k, data[k]) for k in ("e2e_queue",) if data.get(k)]
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
