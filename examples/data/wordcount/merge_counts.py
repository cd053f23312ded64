"""merge_counts.py --in counts --top N --out top.tsv: the N most frequent words of all shards."""
import argparse, collections, glob, json

p = argparse.ArgumentParser()
p.add_argument("--in", dest="src"); p.add_argument("--top", type=int); p.add_argument("--out")
a = p.parse_args()
total = collections.Counter()
for f in sorted(glob.glob(f"{a.src}/*.json")):
    total.update(json.load(open(f)))
with open(a.out, "w") as out:
    for word, n in total.most_common(a.top):
        out.write(f"{word}\t{n}\n")
