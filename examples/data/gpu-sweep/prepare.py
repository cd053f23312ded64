"""prepare.py --raw raw.csv --out prepared: the raw table as training tensors."""
import argparse, csv, os
import torch

p = argparse.ArgumentParser()
p.add_argument("--raw"); p.add_argument("--out")
a = p.parse_args()
rows = list(csv.DictReader(open(a.raw)))
x = torch.tensor([[float(r["x1"]), float(r["x2"])] for r in rows])
y = torch.tensor([int(r["y"]) for r in rows])
os.makedirs(a.out, exist_ok=True)
torch.save({"x": x, "y": y}, os.path.join(a.out, "train.pt"))
