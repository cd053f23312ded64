# merge.sh: joins every sample's counts (left in the node's shared folder by align.sh) into
# one table, sorted by sample and contig.
set -eu
export LC_ALL=C  # the same sort order on every machine
printf 'sample\tcontig\treads\n' > summary.tsv
cat "$AZ_BATCH_NODE_SHARED_DIR"/genomics/*.counts.tsv | sort >> summary.tsv
