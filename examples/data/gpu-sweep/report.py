"""report.py --runs runs --out report.html: every run's final loss, best first."""
import argparse, glob, json

p = argparse.ArgumentParser()
p.add_argument("--runs"); p.add_argument("--out")
a = p.parse_args()
runs = [json.load(open(f)) for f in glob.glob(f"{a.runs}/*/metrics.json")]
rows = "".join(f"<tr><td>{r['seed']}</td><td>{r['lr']}</td><td>{r['loss']:.4f}</td></tr>"
               for r in sorted(runs, key=lambda r: r["loss"]))
open(a.out, "w").write(f"<table><tr><th>seed</th><th>lr</th><th>loss</th></tr>{rows}</table>\n")
