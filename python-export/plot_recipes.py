"""AUROC against training minutes, from the JSON that train.py writes beside each encoder (issue 13,
item 4): one panel per dataset and normal class, one point per run and detector.

    /usr/bin/python3 python-export/plot_recipes.py docs/recipe-runs/*.json --out docs/recipe-probes.png

Training minutes are the fastest epoch's time times the epochs when train.py recorded epoch times,
else the recorded total: a run that was stopped for a while (SIGSTOP while a benchmark ran) or
shared the CPU with a build counts at its undisturbed speed. That is optimistic by about the
epoch-to-epoch spread of an undisturbed run (about 10 % here). The label of a point names what differs between runs: method, epochs,
width, training images and threads. Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import json
import sys
from collections import defaultdict

DETECTORS = (("knn1", "1-NN", "o"), ("kde", "KDE", "s"), ("gde", "GDE", "^"))


def minutes(training):
    epochs = training.get("epochSeconds")
    if epochs:
        return min(epochs) * len(epochs) / 60
    return training["trainSeconds"] / 60


def label(run):
    t = run["training"]
    arch = run.get("architecture", {})
    width = arch.get("width", t.get("width"))
    parts = [t["method"], f"{t['epochs']} ep"]
    if width is not None:
        parts.append(f"w {width:g}")
    parts.append(f"{t['data']['trainImages']} img")
    parts.append(f"{t.get('threads', '?')} thr")
    return ", ".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="train.py's <out>.json files")
    ap.add_argument("--out", required=True, help="PNG to write")
    args = ap.parse_args()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_recipes.py needs matplotlib (Debian: apt-get install python3-matplotlib)")

    panels = defaultdict(list)
    for path in args.runs:
        with open(path) as f:
            run = json.load(f)
        auroc = run.get("metrics", {}).get("auroc")
        if not auroc:
            sys.exit(f"{path}: no metrics.auroc (a run without a test split has no AUROC to plot)")
        data = run["training"]["data"]
        panels[(data["dataset"], data.get("normalClass"))].append(run)

    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 6.2), squeeze=False)
    for ax, ((dataset, cls), runs) in zip(axes[0], sorted(panels.items(), key=lambda p: str(p[0]))):
        runs.sort(key=lambda r: minutes(r["training"]))
        for i, run in enumerate(runs):
            x = minutes(run["training"])
            colour = f"C{i % 10}"
            for key, name, marker in DETECTORS:
                y = run["metrics"]["auroc"].get(key)
                if y is None:
                    continue
                ax.scatter(x, 100 * y, marker=marker, color=colour, s=36 if key == "knn1" else 22,
                           label=f"{label(run)}" if key == "knn1" else None)
        ax.set_title(f"{dataset}, normal class {cls}")
        ax.set_xlabel("training minutes (wall, this 2-core CPU)")
        ax.set_ylabel("image AUROC, complete test set (%)")
        ax.grid(alpha=0.3)
        # Below the axes, so no point hides under it.
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1,
                  title="circle 1-NN, square KDE, triangle GDE", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out} ({sum(len(r) for r in panels.values())} runs)")


if __name__ == "__main__":
    main()
