"""Latency plot for the load test: loadtest/results/latest.json -> latency.png.

Left: fixed-rate client latency p50 / p99 / p99.9 per target (log scale, labelled).
Right: saturation throughput per target (answers that are not 503). Run by loadtest/run.ts with .cache/venv's python
(matplotlib comes with mlflow there):  python loadtest/plot.py IN.json OUT.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402


def fmt_ms(v):
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def main(src, dst):
    with open(src) as f:
        data = json.load(f)
    targets = [t for t in data["targets"] if t.get("fixed")]
    if not targets:
        print("plot: no target results", file=sys.stderr)
        return
    names = [f"({t['key']}) {t['short']}" for t in targets]
    pcts = [("p50", "#4c72b0"), ("p99", "#dd8452"), ("p99_9", "#c44e52")]
    rate = data["settings"]["rate"]

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.26
    for j, (p, color) in enumerate(pcts):
        xs = [i + (j - 1) * width for i in range(len(targets))]
        vals = [t["fixed"]["latencyMs"][p] for t in targets]
        bars = ax.bar(xs, vals, width, label=p.replace("_", "."), color=color)
        for b, v in zip(bars, vals):
            ax.annotate(fmt_ms(v), (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: fmt_ms(v)))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    lows = [t["fixed"]["latencyMs"]["p50"] for t in targets]
    highs = [t["fixed"]["latencyMs"]["p99_9"] for t in targets]
    ax.set_ylim(min(lows) / 2.5, max(highs) * 2.5)
    ax.set_xticks(range(len(targets)))
    labels = []
    for name, t in zip(names, targets):
        f = t["fixed"]
        labels.append(f"{name}\nsaturated: {f['achievedRps']:,.0f} req/s" if f["achievedRps"] < 0.95 * rate else name)
    ax.set_xticklabels(labels, fontsize=9)
    ax.set_ylabel("client latency, ms (log scale)")
    ax.set_title(f"Fixed rate {rate} req/s offered: latency (lower is better)")
    ax.legend(loc="upper left")
    ax.grid(axis="y", which="major", alpha=0.3)

    # Served answers (not 503): a shed answer is not throughput. Older results have only "rps".
    sat = [t.get("saturation", {}).get("servedRps", t.get("saturation", {}).get("rps", 0)) for t in targets]
    bars = ax2.bar(range(len(targets)), sat, 0.6, color="#55a868")
    for b, v in zip(bars, sat):
        ax2.annotate(f"{v:,.0f}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=9, xytext=(0, 2), textcoords="offset points")
    ax2.set_xticks(range(len(targets)))
    ax2.set_xticklabels(names, fontsize=9)
    ax2.set_ylabel("req/s")
    conns = data["settings"]["saturationConnections"]
    ax2.set_title(f"Saturation ({conns} connections): throughput (higher is better)")
    ax2.grid(axis="y", alpha=0.3)

    m = data["machine"]
    fig.suptitle(f"scoregate load test — {m['cpu']}, {m['cores']} cores, Node {m['node']}, {data['date'][:10]}" + (" (quick)" if data["settings"]["quick"] else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)
    print(f"plot: wrote {dst}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
