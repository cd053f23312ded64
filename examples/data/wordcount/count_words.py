"""count_words.py --threads N --in shard.txt --out counts/NAME.json: word counts of a shard."""
import argparse, collections, json, os, re

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int); p.add_argument("--in", dest="src"); p.add_argument("--out")
a = p.parse_args()
words = re.findall(r"[a-z']+", open(a.src, encoding="utf-8").read().lower())
os.makedirs(os.path.dirname(a.out), exist_ok=True)
json.dump(collections.Counter(words), open(a.out, "w"))
