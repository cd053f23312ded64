"""train.py --data prepared --seed S --lr LR --out runs/NAME: one run of the sweep."""
import argparse, json, os
import torch

p = argparse.ArgumentParser()
p.add_argument("--data"); p.add_argument("--seed", type=int); p.add_argument("--lr", type=float)
p.add_argument("--out")
a = p.parse_args()
torch.manual_seed(a.seed)
d = torch.load(os.path.join(a.data, "train.pt"))
model = torch.nn.Linear(2, 2).cuda()
opt = torch.optim.SGD(model.parameters(), lr=a.lr)
x, y = d["x"].cuda(), d["y"].cuda()
for _ in range(int(os.environ.get("EPOCHS", "20"))):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
os.makedirs(a.out, exist_ok=True)
json.dump({"seed": a.seed, "lr": a.lr, "loss": loss.item()}, open(os.path.join(a.out, "metrics.json"), "w"))
