# align.sh SAMPLE: places each read of SAMPLE.fq on the reference (ref/genome.fa) by exact
# match, a stand-in for a real aligner that needs nothing but POSIX sh and awk. Writes
# out/SAMPLE.hits.tsv (read, contig, 1-based position; `*` 0 when unplaced) and
# out/SAMPLE.counts.tsv (sample, contig, reads), and leaves a copy of the counts in the
# node's shared folder for the fan-in task.
set -eu
export LC_ALL=C  # the same sort order on every machine
s=$1
mkdir -p out
awk '
  FNR == NR { if (/^>/) { name = substr($1, 2); names[++n] = name } else { seq[name] = seq[name] $0 }; next }
  FNR % 4 == 1 { id = substr($1, 2) }
  FNR % 4 == 2 {
    hit = "*"; pos = 0
    for (i = 1; i <= n; i++) { p = index(seq[names[i]], $0); if (p > 0) { hit = names[i]; pos = p; break } }
    print id "\t" hit "\t" pos
  }' ref/genome.fa "$s.fq" > "out/$s.hits.tsv"
cut -f2 "out/$s.hits.tsv" | sort | uniq -c | awk -v s="$s" '{ print s "\t" $2 "\t" $1 }' > "out/$s.counts.tsv"
# The pool's start task made this folder writable for every task; -p in case it has not.
mkdir -p "$AZ_BATCH_NODE_SHARED_DIR/genomics"
cp "out/$s.counts.tsv" "$AZ_BATCH_NODE_SHARED_DIR/genomics/"
